package harness

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// Process is a child process whose output goes to a log file, shown when the test fails.
// It is killed when the test ends.
type Process struct {
	Name string
	cmd  *exec.Cmd
	log  string
	done chan struct{}
}

// Start runs path with args and env added to this process's environment.
func Start(t *testing.T, name, path string, args []string, env map[string]string) *Process {
	t.Helper()
	logPath := filepath.Join(t.TempDir(), name+".log")
	logFile, err := os.Create(logPath)
	if err != nil {
		t.Fatalf("create %s: %v", logPath, err)
	}
	cmd := exec.Command(path, args...)
	cmd.Env = os.Environ()
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	cmd.Stdout = logFile
	cmd.Stderr = logFile
	dieWithParent(cmd)
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s (%s): %v", name, path, err)
	}
	logFile.Close()
	p := &Process{Name: name, cmd: cmd, log: logPath, done: make(chan struct{})}
	go func() {
		_ = cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() {
		p.Kill()
		if t.Failed() {
			p.dumpLog(t)
		}
	})
	return p
}

// Exited reports whether the process has ended.
func (p *Process) Exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// WaitListening waits until addr accepts connections, failing early if the process exits.
func (p *Process) WaitListening(t *testing.T, addr string) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for !Listening(addr) {
		if p.Exited() {
			p.dumpLog(t)
			t.Fatalf("%s exited before listening on %s", p.Name, addr)
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s never listened on %s", p.Name, addr)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Freeze stops the process (SIGSTOP): its sockets stay open and nothing answers.
func (p *Process) Freeze() { _ = p.cmd.Process.Signal(syscall.SIGSTOP) }

// Thaw lets a frozen process run again (SIGCONT).
func (p *Process) Thaw() { _ = p.cmd.Process.Signal(syscall.SIGCONT) }

// Kill ends the process at once and waits for it.
func (p *Process) Kill() {
	_ = p.cmd.Process.Signal(syscall.SIGCONT)
	_ = p.cmd.Process.Kill()
	<-p.done
}

func (p *Process) dumpLog(t *testing.T) {
	out, err := os.ReadFile(p.log)
	if err != nil || len(out) == 0 {
		return
	}
	const keep = 4000
	if len(out) > keep {
		out = out[len(out)-keep:]
	}
	t.Logf("last lines of %s's log:\n%s", p.Name, bytes.TrimSpace(out))
}
