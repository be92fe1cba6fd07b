// Package scripts holds the shell scripts the project runs, so that the
// binary carries the ones it needs (the SSH lab's) wherever it is installed.
package scripts

import _ "embed"

// SSHLab is scripts/sshlab.sh.
//
//go:embed sshlab.sh
var SSHLab []byte
