package harness

import (
	"os/exec"
	"syscall"
)

// dieWithParent has the kernel kill the child when the test process dies, so that a test run
// killed by its timeout leaves no server behind (t.Cleanup does not run then).
func dieWithParent(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
