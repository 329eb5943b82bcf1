//! The progress bar for long encryptions and decryptions.
//!
//! A bar is shown only when the input is a regular file of at least
//! [`MIN_BYTES`], stderr is a terminal and `--quiet` was not given; otherwise
//! a hidden bar costs next to nothing. It counts input bytes as they are read.

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::{self, IsTerminal, Read};

/// Inputs smaller than this finish too fast to need a bar: 64 MiB.
pub const MIN_BYTES: u64 = 64 * 1024 * 1024;

const TEMPLATE: &str =
    "{prefix} [{wide_bar}] {bytes}/{total_bytes} {binary_bytes_per_sec}, {eta} left";

/// A bar for an input of `len` bytes (`None` if unknown), labelled `verb`.
pub fn bar(len: Option<u64>, quiet: bool, verb: &'static str) -> ProgressBar {
    match len {
        Some(len) if !quiet && len >= MIN_BYTES && io::stderr().is_terminal() => {
            let bar = ProgressBar::with_draw_target(Some(len), ProgressDrawTarget::stderr());
            let style = ProgressStyle::with_template(TEMPLATE)
                .unwrap_or_else(|_| ProgressStyle::default_bar())
                .progress_chars("=> ");
            bar.set_style(style);
            bar.set_prefix(verb);
            bar
        }
        _ => ProgressBar::hidden(),
    }
}

/// A reader that advances a progress bar by the bytes it reads.
pub struct CountingReader<R> {
    inner: R,
    bar: ProgressBar,
}

impl<R: Read> CountingReader<R> {
    /// Wraps `inner`, reporting to `bar`.
    pub fn new(inner: R, bar: ProgressBar) -> Self {
        CountingReader { inner, bar }
    }
}

impl<R: Read> Read for CountingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.bar.inc(n as u64);
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn template_is_valid_and_counting_counts() {
        assert!(ProgressStyle::with_template(TEMPLATE).is_ok());
        let bar = ProgressBar::hidden();
        bar.set_length(10);
        let mut reader = CountingReader::new(&b"0123456789"[..], bar.clone());
        let mut out = Vec::new();
        reader.read_to_end(&mut out).unwrap();
        assert_eq!(bar.position(), 10);
    }
}
