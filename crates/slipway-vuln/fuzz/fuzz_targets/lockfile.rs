//! Fuzzes the lockfile parsers: the first byte picks a format (or detection by name and
//! content), the rest is the file's text. Parsing must return packages or an error, never panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use slipway_vuln::{LockfileFormat, Package, detect_format, parse_as, parse_lockfile};

const FORMATS: [LockfileFormat; 5] = [
    LockfileFormat::CargoLock,
    LockfileFormat::NpmPackageLock,
    LockfileFormat::PoetryLock,
    LockfileFormat::GoMod,
    LockfileFormat::GoSum,
];

fuzz_target!(|data: &[u8]| {
    let Some((&selector, rest)) = data.split_first() else {
        return;
    };
    let Ok(text) = std::str::from_utf8(rest) else {
        return;
    };
    let result = match FORMATS.get(usize::from(selector) % (FORMATS.len() + 1)) {
        Some(format) => parse_as(*format, "fuzz.lock", text),
        None => {
            let _ = detect_format("fuzz", text);
            parse_lockfile("fuzz", text)
        }
    };
    if let Ok(packages) = result {
        for package in packages {
            // Every parsed package survives the purl-free path the scanner takes.
            let _ = package.ecosystem.parse_version(&package.version);
            let _ = Package::from_purl(&format!("pkg:cargo/{}@{}", package.name, package.version));
        }
    }
});
