//! Measures the artifact store's hashing and push speed on one file, for `bench/artifact-push.sh`:
//! `hash_bench FILE STORE_DIR` prints one line per measurement, `NAME SECONDS BYTES`, after a
//! human-readable line. `hash` reads and hashes the file in-process (as `sha256sum` does); `push`
//! is a full push into a fresh store in STORE_DIR (stream, hash, write, fsync, rename).

use slipway_artifacts::{ArtifactStore, PushRequest, digest};
use std::time::Instant;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let (Some(file), Some(store_dir)) = (args.next(), args.next()) else {
        return Err("usage: hash_bench FILE STORE_DIR".into());
    };
    #[cfg(target_arch = "x86_64")]
    let accelerated = std::is_x86_feature_detected!("sha");
    #[cfg(target_arch = "aarch64")]
    let accelerated = std::arch::is_aarch64_feature_detected!("sha2");
    #[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
    let accelerated = false;
    eprintln!("# sha2 uses CPU SHA instructions: {accelerated}");

    let start = Instant::now();
    let (digest, bytes) = digest::hash_reader(&mut std::fs::File::open(&file)?)?;
    let hash_secs = start.elapsed().as_secs_f64();
    eprintln!("# {digest}");
    println!("hash {hash_secs:.4} {bytes}");

    let store = ArtifactStore::open(&store_dir)?;
    let request = PushRequest::new("bench", "1.0.0", "bench.bin");
    let start = Instant::now();
    let pushed = store.push_file(&request, std::path::Path::new(&file))?;
    let push_secs = start.elapsed().as_secs_f64();
    if pushed.layer.digest != digest {
        return Err(format!(
            "push stored {} but the file hashes to {digest}",
            pushed.layer.digest
        )
        .into());
    }
    println!("push {push_secs:.4} {}", pushed.layer.size);
    Ok(())
}
