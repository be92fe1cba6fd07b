// Command cutover runs Ansible-style playbooks with built-in Go modules.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/cutover/cutover/engine/module"
	"github.com/cutover/cutover/engine/redact"
	"github.com/cutover/cutover/modules"
)

// Exit codes, as ansible-playbook returns them.
const (
	exitOK          = 0
	exitError       = 1
	exitHostFailed  = 2
	exitUsage       = 2 // argparse's code for a bad option
	exitUnreachable = 4
	exitParse       = 4
	exitInterrupted = 99
	exitUnexpected  = 250
)

// exitError carries an exit code through cobra.
type codedError struct {
	code int
	err  error // nil: already reported
}

func (e *codedError) Error() string {
	if e.err == nil {
		return fmt.Sprintf("exit %d", e.code)
	}
	return e.err.Error()
}

func main() {
	// A run is short and its live heap small (tens of MB at 50 hosts):
	// collecting at 5x the live heap instead of 2x spares most of the
	// collections parsing playbooks would cost. GOGC still wins.
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(400)
	}
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

// run is main without the process: tests call it directly.
func run(args []string, stdin io.Reader, stdout, stderr io.Writer) (code int) {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	defer func() {
		if r := recover(); r != nil {
			fmt.Fprintf(stderr, "ERROR! Unexpected Exception: %v\n", r)
			code = exitUnexpected
		}
	}()
	reg := module.NewRegistry(modules.All()...)
	// Everything the process prints goes through the run's secrets: a
	// password learnt from a vault, a secret argument or a secret-named
	// variable shows as ******** wherever it turns up, errors included.
	secrets := &redact.Set{}
	stdout, stderr = secrets.Writer(stdout), secrets.Writer(stderr)
	root := newRootCommand(reg, secrets, stdin, stdout, stderr)
	root.SetArgs(args)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return exitOK
	}
	var ce *codedError
	if errors.As(err, &ce) {
		if ce.err != nil {
			fmt.Fprintf(stderr, "ERROR! %v\n", ce.err)
		}
		return ce.code
	}
	// cobra's own errors: unknown flags, bad arguments.
	fmt.Fprintf(stderr, "ERROR! %v\n", err)
	return exitUsage
}

func newRootCommand(reg *module.Registry, secrets *redact.Set, stdin io.Reader, stdout, stderr io.Writer) *cobra.Command {
	root := &cobra.Command{
		Use:           "cutover",
		Short:         "Run Ansible-style playbooks for migrations that must not go wrong",
		SilenceErrors: true,
		SilenceUsage:  true,
	}
	root.SetIn(stdin)
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.AddCommand(newRunCommand(reg, secrets), newInventoryCommand(secrets), newDocCommand(reg), newVersionCommand(),
		newVaultCommand(stdin), newLabCommand(), newKeeperCommand())
	return root
}
