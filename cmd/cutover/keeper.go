package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/debug"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/cutover/cutover/engine/conn"
)

// controlDir is where the connection keeper listens: Ansible's
// ANSIBLE_SSH_CONTROL_PATH_DIR when set, else ~/.cutover/cp.
func controlDir() string {
	home, _ := os.UserHomeDir()
	if dir := os.Getenv("ANSIBLE_SSH_CONTROL_PATH_DIR"); dir != "" {
		if rest, ok := strings.CutPrefix(dir, "~/"); ok {
			return filepath.Join(home, rest)
		}
		return dir
	}
	return filepath.Join(home, ".cutover", "cp")
}

// sshArgs is Ansible's ssh_args: ANSIBLE_SSH_ARGS, else its default.
func sshArgs() string {
	if args, ok := os.LookupEnv("ANSIBLE_SSH_ARGS"); ok {
		return args
	}
	return conn.DefaultSSHArgs
}

// keeper is how runs reach the keeper: this same program, started with
// the hidden "keeper serve" command.
func keeper(dir string) *conn.Keep {
	return &conn.Keep{Dir: dir, Command: func(dir string) *exec.Cmd {
		exe, err := os.Executable()
		if err != nil {
			exe = os.Args[0]
		}
		cmd := exec.Command(exe, "keeper", "serve", "--dir", dir)
		cmd.Args[0] = "cutover"
		// The keeper outlives the run: it keeps none of the run's
		// environment (a secret may be there), only what a Go program
		// and its ssh-agent lookups need.
		cmd.Env = []string{}
		for _, name := range []string{"PATH", "HOME", "USER", "TMPDIR", "GOGC", "GOMAXPROCS", "GODEBUG", "GOTRACEBACK", "GOCOVERDIR"} {
			if v, ok := os.LookupEnv(name); ok {
				cmd.Env = append(cmd.Env, name+"="+v)
			}
		}
		return cmd
	}}
}

func newKeeperCommand() *cobra.Command {
	dir := controlDir()
	cmd := &cobra.Command{
		Use:   "keeper",
		Short: "The SSH connections kept open between runs (ControlPersist)",
		Long: `A run leaves each host's SSH connection open in a background keeper for
ControlPersist (60 s with Ansible's default ssh_args), and the next run
reuses it. Set ANSIBLE_SSH_ARGS without ControlPersist, or with
-o ControlPersist=no, to open a connection per run.`,
	}
	cmd.PersistentFlags().StringVar(&dir, "dir", dir, "control folder (ANSIBLE_SSH_CONTROL_PATH_DIR)")
	serve := &cobra.Command{
		Use:    "serve",
		Short:  "Run the keeper (a run starts it when needed)",
		Hidden: true,
		Args:   cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			// Long-lived, unlike a run (see main): the default GC pace.
			if os.Getenv("GOGC") == "" {
				debug.SetGCPercent(100)
			}
			return asFailure((&conn.Keeper{Dir: dir}).Serve())
		},
	}
	stop := &cobra.Command{
		Use:   "stop",
		Short: "Close every kept connection (ssh -O exit)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return asFailure(conn.StopKeeper(dir))
		},
	}
	status := &cobra.Command{
		Use:   "status",
		Short: "List the kept connections",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			hosts, err := conn.KeptHosts(dir)
			if err != nil {
				return asFailure(err)
			}
			w := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
			fmt.Fprintln(w, "HOST\tLOGIN\tRUNS\tIDLE\tPERSIST")
			for _, h := range hosts {
				persist := h.Persist.String()
				if h.Persist == conn.Forever {
					persist = "until stopped"
				}
				fmt.Fprintf(w, "%s\t%s@%s:%d\t%d\t%s\t%s\n", h.Name, h.User, h.Addr, h.Port, h.Runs, h.Idle, persist)
			}
			return w.Flush()
		},
	}
	cmd.AddCommand(serve, stop, status)
	return cmd
}
