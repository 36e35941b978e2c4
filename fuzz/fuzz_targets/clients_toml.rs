//! A clients file: `MemoryClientStore::from_toml_str` loads it or returns a `ConfigFileError`
//! that names a line of the file, never a panic.
//!
//! Input: the file text (invalid UTF-8 is skipped: `from_toml_file` refuses it as an I/O
//! error before parsing).
#![no_main]

use libfuzzer_sys::fuzz_target;
use tower_client_credentials::clients::MemoryClientStore;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    match MemoryClientStore::from_toml_str(text) {
        Ok(store) => {
            let _ = format!("{store:?}");
        }
        Err(error) => {
            let _ = error.to_string();
            if let Some(line) = error.line() {
                assert!(line >= 1 && line <= text.lines().count() + 1, "line {line}");
            }
        }
    }
});
