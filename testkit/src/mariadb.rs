use std::io::Write;
use std::net::{SocketAddr, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use crate::free_port;

/// A private MariaDB server on a loopback port with a data dir of its own, for tests that
/// freeze, kill and restart the database (the shared one serves every other test). It skips
/// authentication: any user may connect. Killed and removed when dropped.
pub struct MariaDb {
    child: Option<Child>,
    port: u16,
    data_dir: PathBuf,
    /// The data dir is a tmpfs of this many MiB, mounted here (see [`MariaDb::on_small_disk`]).
    small_disk: Option<u32>,
    /// Dropped after the server is killed (fields drop after `drop`).
    _turn: MutexGuard<'static, ()>,
}

/// One private MariaDB at a time in a test process: one that restarts frees its port for a
/// moment, and another's start could take it. nextest keeps these tests in a group of one
/// (.config/nextest.toml); this does the same for plain `cargo test`, whose tests share a process.
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

impl MariaDb {
    /// Waits until no other private MariaDB of this process runs.
    pub fn start() -> Self {
        Self::start_with(None)
    }

    /// As [`MariaDb::start`], with its data on a filesystem of `megabytes` MiB of its own (a
    /// tmpfs), for a test to fill ([`MariaDb::fill_disk`]). `None` when this process may not
    /// mount one (not root, or root in a container without the privilege to mount).
    pub fn on_small_disk(megabytes: u32) -> Option<Self> {
        may_mount_tmpfs().then(|| Self::start_with(Some(megabytes)))
    }

    fn start_with(small_disk: Option<u32>) -> Self {
        // A test that panicked holding the turn has still given it back.
        let turn = ONE_AT_A_TIME.lock().unwrap_or_else(PoisonError::into_inner);
        let port = free_port();
        let data_dir =
            std::env::temp_dir().join(format!("im-test-mariadb-{}-{port}", std::process::id()));
        let _ = std::fs::remove_dir_all(&data_dir);
        std::fs::create_dir_all(&data_dir).expect("create the data dir");
        if let Some(megabytes) = small_disk {
            let mounted = Command::new("mount")
                .args(["-t", "tmpfs", "-o", &format!("size={megabytes}m"), "tmpfs"])
                .arg(&data_dir)
                .status()
                .expect("mount runs");
            assert!(
                mounted.success(),
                "cannot mount a tmpfs on {}",
                data_dir.display()
            );
        }
        let installed = Command::new("mariadb-install-db")
            .args(["--no-defaults", "--user=root", "--skip-test-db"])
            .arg(format!("--datadir={}", data_dir.join("data").display()))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .expect("mariadb-install-db (Debian: mariadb-server) is installed");
        assert!(installed.success(), "mariadb-install-db failed");
        let mut db = Self {
            child: None,
            port,
            data_dir,
            small_disk,
            _turn: turn,
        };
        // Another process can take the port `free_port` handed out before the server binds it;
        // the server then exits at once, and is started again on another port.
        for tries in 0.. {
            match db.launch() {
                Ok(()) => break,
                Err(status) if tries < 2 => {
                    eprintln!("MariaDB on port {} exited at start ({status})", db.port);
                    db.port = free_port();
                }
                Err(status) => panic!("MariaDB on port {} exited at start: {status}", db.port),
            }
        }
        db
    }

    /// The server URL without a database name.
    pub fn url(&self) -> String {
        format!("mysql://root@127.0.0.1:{}", self.port)
    }

    /// Fills its small disk with a file, which [`std::fs::remove_file`] of the path returned
    /// frees again.
    pub fn fill_disk(&self) -> PathBuf {
        assert!(
            self.small_disk.is_some(),
            "fill_disk is for a MariaDb on_small_disk"
        );
        let path = self.data_dir.join("filler");
        let mut file = std::fs::File::create(&path).expect("create the filler");
        let chunk = vec![0u8; 64 * 1024];
        while file
            .write_all(&chunk)
            .and_then(|()| file.sync_data())
            .is_ok()
        {}
        path
    }

    /// Stops the process (SIGSTOP): connections stay open and nothing answers, as when its
    /// host freezes.
    pub fn freeze(&self) {
        self.signal("STOP");
    }

    /// Lets a frozen server run again (SIGCONT).
    pub fn thaw(&self) {
        self.signal("CONT");
    }

    /// Kills the server at once (SIGKILL), as a crash would.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts the server again on the same port and data; returns once it accepts connections.
    pub fn start_again(&mut self) {
        if let Err(status) = self.launch() {
            panic!("MariaDB on port {} exited at start: {status}", self.port);
        }
    }

    /// Starts the server; returns once it accepts connections, or its exit status if it exits
    /// before that.
    fn launch(&mut self) -> Result<(), ExitStatus> {
        self.kill();
        let binary = ["/usr/sbin/mariadbd", "/usr/bin/mariadbd"]
            .into_iter()
            .find(|p| std::path::Path::new(p).exists())
            .unwrap_or("mariadbd");
        let dir = &self.data_dir;
        let child = Command::new(binary)
            .args(["--no-defaults", "--user=root", "--skip-grant-tables"])
            .args(["--bind-address=127.0.0.1", "--innodb-buffer-pool-size=32M"])
            // A small redo log, for a small disk.
            .args(self.small_disk.map(|_| "--innodb-log-file-size=8M"))
            .arg(format!("--port={}", self.port))
            .arg(format!("--datadir={}", dir.join("data").display()))
            .arg(format!("--socket={}", dir.join("mysqld.sock").display()))
            .arg(format!("--pid-file={}", dir.join("mysqld.pid").display()))
            .arg(format!("--log-error={}", dir.join("error.log").display()))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("mariadbd (Debian: mariadb-server) is installed");
        // Kept before waiting: a server that never listens is still killed when dropped.
        let child = self.child.insert(child);
        let addr = SocketAddr::from(([127, 0, 0, 1], self.port));
        let deadline = Instant::now() + Duration::from_secs(60);
        while TcpStream::connect(addr).is_err() {
            if let Some(status) = child.try_wait().expect("poll mariadbd") {
                return Err(status);
            }
            assert!(
                Instant::now() < deadline,
                "MariaDB never listened on {addr}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        Ok(())
    }

    fn signal(&self, name: &str) {
        if let Some(child) = &self.child {
            let _ = Command::new("kill")
                .args([format!("-{name}"), child.id().to_string()])
                .status();
        }
    }
}

impl Drop for MariaDb {
    fn drop(&mut self) {
        self.thaw();
        self.kill();
        if self.small_disk.is_some() {
            let _ = Command::new("umount").arg(&self.data_dir).status();
        }
        let _ = std::fs::remove_dir_all(&self.data_dir);
    }
}

/// Whether a tmpfs can be mounted here: tried on a scratch directory, then taken down.
fn may_mount_tmpfs() -> bool {
    let probe = std::env::temp_dir().join(format!("im-test-mount-probe-{}", std::process::id()));
    if std::fs::create_dir_all(&probe).is_err() {
        return false;
    }
    let quiet = |command: &mut Command| {
        command
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|status| status.success())
    };
    let mounted = quiet(
        Command::new("mount")
            .args(["-t", "tmpfs", "-o", "size=1m", "tmpfs"])
            .arg(&probe),
    );
    if mounted {
        quiet(Command::new("umount").arg(&probe));
    }
    let _ = std::fs::remove_dir(&probe);
    mounted
}
