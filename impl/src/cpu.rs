//! The CPU check that makes an AES-NI build safe to run, and a report of the
//! AES code paths in use.
//!
//! The project's default build (`.cargo/config.toml`) compiles for x86-64 with
//! the `aes` and `pclmulqdq` target features, for the portable reference
//! backend (RustCrypto `aes-gcm`). A binary built that way must not run on a
//! CPU without them: it would die with SIGILL somewhere inside that cipher.
//! The default backend, aws-lc, needs no such flag: it reads CPUID itself and
//! picks VAES with AVX-512 or AVX2, or AES-NI, at run time. [`check`] reads CPUID directly (the `is_x86_feature_detected!`
//! macro would be folded to `true` at compile time in such a build) so a
//! program can refuse to start with a clear message. Call it first in `main`.

use thiserror::Error;

/// The CPU lacks instructions this binary was compiled to use.
#[derive(Clone, Debug, Error, PartialEq, Eq)]
#[error(
    "this build of bvault uses the {missing} instruction(s), which this CPU does not have; \
     rebuild with RUSTFLAGS=\"\" (runtime detection only) to run it here"
)]
pub struct MissingCpuFeatures {
    /// The missing features, comma-separated.
    pub missing: String,
}

/// Checks that the CPU has every instruction set extension this binary was
/// compiled to assume. Succeeds trivially on other architectures and in
/// builds without such assumptions.
///
/// # Errors
/// [`MissingCpuFeatures`] naming what is missing.
pub fn check() -> Result<(), MissingCpuFeatures> {
    #[cfg(target_arch = "x86_64")]
    {
        // CPUID leaf 1, ECX: bit 25 = AES-NI, bit 1 = PCLMULQDQ.
        let ecx = std::arch::x86_64::__cpuid(1).ecx;
        let mut missing = Vec::new();
        if cfg!(target_feature = "aes") && ecx & (1 << 25) == 0 {
            missing.push("AES-NI");
        }
        if cfg!(target_feature = "pclmulqdq") && ecx & (1 << 1) == 0 {
            missing.push("PCLMULQDQ");
        }
        if !missing.is_empty() {
            return Err(MissingCpuFeatures {
                missing: missing.join(", "),
            });
        }
    }
    Ok(())
}

/// Which accelerated code paths this build assumes at compile time, for reports.
pub fn compiled_features() -> &'static str {
    match (
        cfg!(target_feature = "aes"),
        cfg!(target_feature = "pclmulqdq"),
    ) {
        (true, true) => "aes+pclmulqdq (compile time)",
        (true, false) => "aes (compile time); pclmulqdq detected at run time",
        (false, true) => "pclmulqdq (compile time); aes detected at run time",
        (false, false) => "aes and pclmulqdq detected at run time",
    }
}

/// The AES-related instructions this CPU has, as detected at run time.
fn detected_features() -> Vec<&'static str> {
    let mut found = Vec::new();
    #[cfg(target_arch = "x86_64")]
    {
        for (name, present) in [
            ("aes", std::arch::is_x86_feature_detected!("aes")),
            (
                "pclmulqdq",
                std::arch::is_x86_feature_detected!("pclmulqdq"),
            ),
            ("avx2", std::arch::is_x86_feature_detected!("avx2")),
            ("vaes", std::arch::is_x86_feature_detected!("vaes")),
            (
                "vpclmulqdq",
                std::arch::is_x86_feature_detected!("vpclmulqdq"),
            ),
            ("avx512f", std::arch::is_x86_feature_detected!("avx512f")),
        ] {
            if present {
                found.push(name);
            }
        }
    }
    found
}

/// One line for benchmark logs: the default backend, the AES instructions
/// the CPU offers it, and how the reference backend was compiled.
pub fn report() -> String {
    let features = detected_features();
    format!(
        "backend aws-lc (picks its code path at run time; CPU has: {}); reference backend aes-gcm: {}",
        if features.is_empty() {
            "no AES instructions".to_owned()
        } else {
            features.join(" ")
        },
        compiled_features()
    )
}

#[cfg(test)]
mod tests {
    #[test]
    fn this_machine_passes_the_check() {
        super::check().unwrap();
    }

    #[test]
    fn the_report_names_the_backends() {
        let report = super::report();
        assert!(report.contains("aws-lc") && report.contains("aes-gcm"));
    }
}
