//! A MariaDB Galera cluster on loopback, for the tests that lose a node (`scripts/test-galera`).
//! Each node has a data dir, a client port, a group port (`gmcast.listen_addr`), an IST port
//! and an SST port of its own. The nodes run as the `mysql` user (mariadbd drops to it), since
//! the rsync state transfer refuses to run as root. Killed and removed when dropped.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::free_port;

/// How long a node may take to join and copy the state of the cluster.
const JOIN_PATIENCE: Duration = Duration::from_secs(180);

pub struct Galera {
    nodes: Vec<Node>,
    dir: PathBuf,
}

struct Node {
    child: Option<Child>,
    port: u16,
    group_port: u16,
    ist_port: u16,
    sst_port: u16,
    dir: PathBuf,
}

impl Galera {
    /// Bootstraps a cluster on the first node and joins the others one at a time; returns once
    /// every node is synced.
    pub fn start(size: usize) -> Self {
        let dir = std::env::temp_dir().join(format!(
            "im-test-galera-{}-{}",
            std::process::id(),
            free_port()
        ));
        let _ = std::fs::remove_dir_all(&dir);
        let nodes = (0..size)
            .map(|i| Node::install(&dir.join(format!("node{i}"))))
            .collect();
        chown_mysql(&dir);
        let mut cluster = Self { nodes, dir };
        for i in 0..size {
            // A node that leaves again while it joins (on a loaded machine the others may
            // suspect it at once) is started again, twice at most.
            for tries in 0.. {
                cluster.launch(i, i == 0);
                match cluster.synced_or_exited(i) {
                    Ok(()) => break,
                    Err(log) if tries < 2 => {
                        eprintln!(
                            "Galera node {i} exited while joining; starting it again:\n{log}"
                        );
                        cluster.kill(i);
                        cluster.nodes[i].take_fresh_ports();
                    }
                    Err(log) => panic!("Galera node {i} never synced; its log ends:\n{log}"),
                }
            }
        }
        cluster
    }

    /// Node `i`'s client address, as the rpc-server's metrics name it.
    pub fn address(&self, i: usize) -> String {
        format!("127.0.0.1:{}", self.nodes[i].port)
    }

    /// Node `i`'s server URL, without a database name.
    pub fn url(&self, i: usize) -> String {
        format!("mysql://root@{}", self.address(i))
    }

    /// A `DATABASE_URL` listing the nodes in `order`, each with database `name`.
    pub fn database_urls(&self, name: &str, order: &[usize]) -> String {
        order
            .iter()
            .map(|&i| format!("{}/{name}", self.url(i)))
            .collect::<Vec<_>>()
            .join(",")
    }

    /// Kills node `i` at once (SIGKILL), as a crash would.
    pub fn kill(&mut self, i: usize) {
        if let Some(mut child) = self.nodes[i].child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Stops node `i` (SIGSTOP): its connections stay open and nothing answers.
    pub fn freeze(&self, i: usize) {
        self.nodes[i].signal("STOP");
    }

    /// Lets a frozen node run again (SIGCONT).
    pub fn thaw(&self, i: usize) {
        self.nodes[i].signal("CONT");
    }

    /// Starts a killed node again; it rejoins the others (copying their state). Returns once it
    /// is synced.
    pub fn restart(&mut self, i: usize) {
        self.kill(i);
        self.launch(i, false);
        self.wait_synced(i);
    }

    /// Cuts node `i` off the others (`gmcast.isolate`), or lets it rejoin them: cut off, it
    /// forms a non-primary component of its own and refuses statements on tables (1047).
    pub fn isolate(&self, i: usize, isolated: bool) {
        let options = format!("gmcast.isolate={}", u8::from(isolated));
        let sql = format!("SET GLOBAL wsrep_provider_options = '{options}'");
        let done = self
            .client(i)
            .args(["-e", &sql])
            .status()
            .expect("mariadb client");
        assert!(done.success(), "cannot set {options} on node {i}");
    }

    /// A status variable of node `i` (`wsrep_cluster_size`, ...), or `None` when the node
    /// does not answer.
    pub fn status(&self, i: usize, name: &str) -> Option<String> {
        let out = self
            .client(i)
            .args(["-e", &format!("SHOW GLOBAL STATUS LIKE '{name}'")])
            .stderr(Stdio::null())
            .output()
            .ok()?;
        let text = String::from_utf8_lossy(&out.stdout);
        text.split_whitespace().nth(1).map(str::to_owned)
    }

    /// Waits until node `i` is synced with the cluster.
    pub fn wait_synced(&mut self, i: usize) {
        if let Err(log) = self.synced_or_exited(i) {
            panic!("Galera node {i} never synced; its log ends:\n{log}");
        }
    }

    /// Waits until node `i` is synced; the end of its log if it exits or takes too long.
    fn synced_or_exited(&mut self, i: usize) -> Result<(), String> {
        let deadline = Instant::now() + JOIN_PATIENCE;
        while self.status(i, "wsrep_local_state_comment").as_deref() != Some("Synced") {
            let exited = self.nodes[i]
                .child
                .as_mut()
                .is_none_or(|child| child.try_wait().is_ok_and(|status| status.is_some()));
            if exited || Instant::now() >= deadline {
                // The data dir goes with the cluster: keep the end of the node's log here.
                let log = std::fs::read_to_string(self.nodes[i].dir.join("error.log"))
                    .unwrap_or_default();
                let lines: Vec<&str> = log.lines().collect();
                return Err(lines[lines.len().saturating_sub(30)..].join("\n"));
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        Ok(())
    }

    /// The `mariadb` client, connecting to node `i`.
    fn client(&self, i: usize) -> Command {
        let mut command = Command::new("mariadb");
        command
            .args(["--protocol=tcp", "-h127.0.0.1", "-uroot", "-N", "-B"])
            .args(["--connect-timeout=2", &format!("-P{}", self.nodes[i].port)]);
        command
    }

    fn launch(&mut self, i: usize, bootstrap: bool) {
        let members = self
            .nodes
            .iter()
            .map(|n| format!("127.0.0.1:{}", n.group_port))
            .collect::<Vec<_>>()
            .join(",");
        let node = &mut self.nodes[i];
        let dir = &node.dir;
        let provider_options = format!(
            "base_port={g};gmcast.listen_addr=tcp://127.0.0.1:{g};ist.recv_addr=127.0.0.1:{};\
             gcache.size=32M",
            node.ist_port,
            g = node.group_port
        );
        let mut command = Command::new(mariadbd());
        command
            .args(["--no-defaults", "--user=mysql", "--skip-grant-tables"])
            .args(["--bind-address=127.0.0.1", "--innodb-buffer-pool-size=32M"])
            .args(["--binlog-format=ROW", "--innodb-autoinc-lock-mode=2"])
            .arg(format!("--port={}", node.port))
            .arg(format!("--datadir={}", dir.join("data").display()))
            .arg(format!("--socket={}", dir.join("mysqld.sock").display()))
            .arg(format!("--pid-file={}", dir.join("mysqld.pid").display()))
            .arg(format!("--log-error={}", dir.join("error.log").display()))
            .args([
                "--wsrep-on=ON",
                "--wsrep-provider=/usr/lib/galera/libgalera_smm.so",
            ])
            .args(["--wsrep-cluster-name=im-test", "--wsrep-sst-method=rsync"])
            .arg(format!("--wsrep-node-name=node{i}"))
            .arg(format!(
                "--wsrep-node-address=127.0.0.1:{}",
                node.group_port
            ))
            .arg(format!(
                "--wsrep-node-incoming-address=127.0.0.1:{}",
                node.port
            ))
            .arg(format!(
                "--wsrep-sst-receive-address=127.0.0.1:{}",
                node.sst_port
            ))
            .arg(format!("--wsrep-cluster-address=gcomm://{members}"))
            .arg(format!("--wsrep-provider-options={provider_options}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        if bootstrap {
            command.arg("--wsrep-new-cluster");
        }
        node.child = Some(
            command
                .spawn()
                .expect("mariadbd and galera-4 (Debian: mariadb-server, galera-4) are installed"),
        );
    }
}

impl Node {
    fn install(dir: &Path) -> Self {
        std::fs::create_dir_all(dir).expect("create the node's dir");
        let installed = Command::new("mariadb-install-db")
            .args(["--no-defaults", "--user=mysql", "--skip-test-db"])
            .arg(format!("--datadir={}", dir.join("data").display()))
            .output()
            .expect("mariadb-install-db (Debian: mariadb-server) is installed");
        assert!(
            installed.status.success(),
            "mariadb-install-db failed: {}",
            String::from_utf8_lossy(&installed.stderr)
        );
        let mut node = Self {
            child: None,
            port: 0,
            group_port: 0,
            ist_port: 0,
            sst_port: 0,
            dir: dir.to_owned(),
        };
        node.take_fresh_ports();
        node
    }

    /// New ports for every listener of the node: whatever held one may still hold it.
    fn take_fresh_ports(&mut self) {
        self.port = free_port();
        self.group_port = free_port();
        self.ist_port = free_port();
        self.sst_port = free_port();
    }

    fn signal(&self, name: &str) {
        if let Some(child) = &self.child {
            let _ = Command::new("kill")
                .args([format!("-{name}"), child.id().to_string()])
                .status();
        }
    }
}

impl Drop for Galera {
    fn drop(&mut self) {
        for i in 0..self.nodes.len() {
            self.thaw(i);
            self.kill(i);
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn mariadbd() -> &'static str {
    ["/usr/sbin/mariadbd", "/usr/bin/mariadbd"]
        .into_iter()
        .find(|p| Path::new(p).exists())
        .unwrap_or("mariadbd")
}

/// The nodes write their data dirs, and the state transfer its files, as `mysql`.
fn chown_mysql(dir: &Path) {
    let owned = Command::new("chown")
        .args(["-R", "mysql:mysql"])
        .arg(dir)
        .status()
        .expect("chown");
    assert!(owned.success(), "cannot give {} to mysql", dir.display());
}
