//! A real SMTP server for tests: `infra/smtp-sink/sink.py` (aiosmtpd, from the project's
//! virtualenv that `make test` installs) on a free port ([`spawn_listening`]), keeping each
//! message as a file.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};

use crate::spawn_listening;

pub struct SmtpSink {
    child: Child,
    pub port: u16,
    dir: PathBuf,
}

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

impl SmtpSink {
    pub fn start() -> Self {
        let venv = std::env::var_os("KASSA_VENV").map(PathBuf::from).unwrap_or_else(|| root().join(".venv"));
        let python = venv.join("bin/python");
        assert!(python.exists(), "no virtualenv at {}: run make test (it installs aiosmtpd)", venv.display());
        let dir = std::env::temp_dir().join(format!("kassa-smtp-{}", uuid::Uuid::new_v4()));
        let (child, port) = spawn_listening("the SMTP sink", |port| {
            let mut command = Command::new(&python);
            command
                .arg(root().join("infra/smtp-sink/sink.py"))
                .args(["serve", "--port", &port.to_string(), "--dir"])
                .arg(&dir)
                .stdout(Stdio::null())
                .stderr(Stdio::null());
            command
        });
        Self { child, port, dir }
    }

    pub fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}", self.port)
    }

    /// Every message received so far, raw, oldest first.
    pub fn messages(&self) -> Vec<String> {
        let mut files: Vec<PathBuf> = std::fs::read_dir(&self.dir)
            .map(|entries| entries.filter_map(|e| e.ok().map(|e| e.path())).collect())
            .unwrap_or_default();
        files.retain(|p| p.extension().is_some_and(|e| e == "eml"));
        files.sort();
        files.iter().map(|p| std::fs::read_to_string(p).unwrap()).collect()
    }
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
