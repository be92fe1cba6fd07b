package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/cutover/cutover/engine/conn"
	"github.com/cutover/cutover/engine/diag"
	"github.com/cutover/cutover/engine/inventory"
	"github.com/cutover/cutover/engine/module"
	"github.com/cutover/cutover/engine/playbook"
	"github.com/cutover/cutover/engine/redact"
	"github.com/cutover/cutover/engine/runner"
	"github.com/cutover/cutover/engine/vault"
	"github.com/cutover/cutover/engine/work"
	"github.com/cutover/cutover/engine/yamlx"
)

type runFlags struct {
	inventories           []string
	limit                 string
	check, diff           bool
	tags, skipTags        []string
	extraVars             []string
	forks                 int
	listHosts, listTasks  bool
	listTags, syntaxCheck bool
	startAtTask           string
	step                  bool
	verbose               int
	output                string
	yes                   bool
	become                bool
	becomeUser            string
	forceHandlers         bool
	connection            string
	user                  string
	privateKey            string
	timeout               int
	knownHosts            string
	acceptNewHostKeys     bool
	askPass               bool
	askBecomePass         bool
	retryFile             string
	sshCommonArgs         string
	sshExtraArgs          string
	vault                 vaultFlags
}

func newRunCommand(reg *module.Registry, secrets *redact.Set) *cobra.Command {
	var f runFlags
	cmd := &cobra.Command{
		Use:   "run PLAYBOOK...",
		Short: "Run playbooks (ansible-playbook)",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runPlaybooks(cmd, reg, secrets, &f, args)
		},
	}
	fl := cmd.Flags()
	f.vault.add(fl)
	fl.StringArrayVarP(&f.inventories, "inventory", "i", nil, "inventory file, folder or comma-separated host list (repeatable)")
	fl.StringVarP(&f.limit, "limit", "l", "", "further limit hosts to a pattern (@file reads a retry file)")
	fl.BoolVarP(&f.check, "check", "C", false, "change nothing; report what would change")
	fl.BoolVarP(&f.diff, "diff", "D", false, "show the differences in changed files")
	fl.StringSliceVarP(&f.tags, "tags", "t", nil, "only run plays and tasks tagged with these values")
	fl.StringSliceVar(&f.skipTags, "skip-tags", nil, "skip plays and tasks tagged with these values")
	fl.StringArrayVarP(&f.extraVars, "extra-vars", "e", nil, "variables as key=value, YAML/JSON, or @file (repeatable)")
	fl.IntVarP(&f.forks, "forks", "f", 10, "hosts to run in parallel")
	fl.BoolVar(&f.listHosts, "list-hosts", false, "list the hosts each play would run on; run nothing")
	fl.BoolVar(&f.listTasks, "list-tasks", false, "list the tasks that would run; run nothing")
	fl.BoolVar(&f.listTags, "list-tags", false, "list the tags in use; run nothing")
	fl.BoolVar(&f.syntaxCheck, "syntax-check", false, "parse and validate the playbook; run nothing")
	fl.StringVar(&f.startAtTask, "start-at-task", "", "start at the task with this name")
	fl.BoolVar(&f.step, "step", false, "confirm each task before running it")
	fl.CountVarP(&f.verbose, "verbose", "v", "print more (repeat for more)")
	fl.StringVar(&f.output, "output", "text", "output format: text or json (one event per line)")
	fl.BoolVarP(&f.yes, "yes", "y", false, "answer pause prompts")
	fl.BoolVarP(&f.become, "become", "b", false, "run operations with become (sudo)")
	fl.StringVar(&f.becomeUser, "become-user", "", "user to become (default root)")
	fl.BoolVar(&f.forceHandlers, "force-handlers", false, "run handlers even if a task fails")
	fl.StringVarP(&f.connection, "connection", "c", "", "connection type for hosts that set no ansible_connection (local, ssh)")
	fl.StringVarP(&f.user, "user", "u", "", "connect as this user where ansible_user is unset")
	fl.StringVar(&f.privateKey, "private-key", "", "private key file for SSH (ansible_ssh_private_key_file wins)")
	fl.StringVar(&f.privateKey, "key-file", "", "same as --private-key")
	fl.IntVarP(&f.timeout, "timeout", "T", 10, "seconds to wait for an SSH connection")
	fl.StringVar(&f.knownHosts, "known-hosts", "", "known_hosts file that host keys are checked against (default ~/.ssh/known_hosts)")
	fl.BoolVar(&f.acceptNewHostKeys, "accept-new-host-keys", false, "trust the key of a host not yet in known_hosts, and write it there (never a changed key)")
	fl.BoolVarP(&f.askPass, "ask-pass", "k", false, "ask for the SSH login password")
	fl.BoolVarP(&f.askBecomePass, "ask-become-pass", "K", false, "ask for the become (sudo) password")
	fl.StringVar(&f.sshCommonArgs, "ssh-common-args", "", "ssh options for every host (of them cutover reads -o ControlMaster and -o ControlPersist)")
	fl.StringVar(&f.sshExtraArgs, "ssh-extra-args", "", "more ssh options, read as --ssh-common-args")
	fl.StringVar(&f.retryFile, "retry-file", "", "after a run where hosts failed, write their names to this file (rerun with --limit @FILE)")
	return cmd
}

// fileSizes is the bytes in those of paths that are files.
func fileSizes(paths []string) int {
	n := 0
	for _, p := range paths {
		if st, err := os.Stat(p); err == nil && st.Mode().IsRegular() {
			n += int(st.Size())
		}
	}
	return n
}

func runPlaybooks(cmd *cobra.Command, reg *module.Registry, secrets *redact.Set, f *runFlags, files []string) error {
	stdout, stderr := cmd.OutOrStdout(), cmd.ErrOrStderr()
	if f.output != "text" && f.output != "json" {
		return &codedError{code: exitUsage, err: fmt.Errorf("--output must be text or json, not %q", f.output)}
	}
	for _, file := range files {
		if st, err := os.Stat(file); err != nil || st.IsDir() {
			return &codedError{code: exitError, err: fmt.Errorf("the playbook: %s could not be found", file)}
		}
	}
	keyring, err := f.vault.keyring(cmd.InOrStdin(), stderr)
	if err != nil {
		return &codedError{code: exitError, err: err}
	}
	opener := &vault.Opener{Keyring: keyring, Redact: secrets}
	extra, err := parseExtraVars(f.extraVars, opener)
	if err != nil {
		return reportLoadErrors(stderr, err)
	}
	// The inventory loads while the playbooks parse, the biggest files
	// first on every core: neither needs the other.
	loader := &playbook.Loader{Registry: reg, Vault: opener}
	var inv *inventory.Inventory
	var invErr error
	books, loadErr := loader.LoadAll(files, work.Job{Cost: fileSizes(f.inventories), Do: func() {
		inv, invErr = inventory.LoadVault(f.inventories, opener)
	}})
	var problems diag.List
	if loadErr != nil && !errors.As(loadErr, &problems) {
		return &codedError{code: exitParse, err: loadErr}
	}
	if invErr != nil {
		return reportLoadErrors(stderr, invErr)
	}
	if len(problems) > 0 {
		return reportLoadErrors(stderr, problems)
	}
	if f.syntaxCheck {
		for _, file := range files {
			fmt.Fprintf(stdout, "\nplaybook: %s\n", file)
		}
		return nil
	}
	for _, file := range files {
		if err := inv.AddPlaybookVarsDir(filepath.Dir(file)); err != nil {
			return reportLoadErrors(stderr, err)
		}
	}
	if len(f.inventories) == 0 {
		fmt.Fprintln(stderr, "[WARNING]: No inventory was parsed, only implicit localhost is available")
	}
	if f.listHosts || f.listTasks || f.listTags {
		return listPlaybooks(stdout, inv, books, f)
	}
	var rep runner.Reporter
	if f.output == "json" {
		rep = &runner.JSONReporter{W: stdout}
	} else {
		rep = &runner.TextReporter{W: stdout, Color: useColor(stdout), Verbosity: f.verbose}
	}
	// Prompts read the terminal; --step reads standard input even when it
	// is not one, as ansible-playbook does.
	var in io.Reader
	if file, ok := cmd.InOrStdin().(*os.File); ok && term.IsTerminal(int(file.Fd())) || f.step {
		// One buffered reader for the run: several prompts share it.
		in = bufio.NewReader(cmd.InOrStdin())
	}
	sshOpener := &conn.Opener{User: f.user, PrivateKey: f.privateKey, KnownHosts: f.knownHosts,
		AcceptNew: f.acceptNewHostKeys, Timeout: time.Duration(f.timeout) * time.Second,
		Keep: keeper(controlDir()), SSHArgs: sshArgs(), CommonArgs: f.sshCommonArgs, ExtraArgs: f.sshExtraArgs,
		Warn: func(msg string) { fmt.Fprintf(stderr, "[WARNING]: %s\n", msg) }}
	var becomePassword string
	if f.askPass || f.askBecomePass {
		tty, ok := cmd.InOrStdin().(*os.File)
		if !ok || !term.IsTerminal(int(tty.Fd())) {
			return &codedError{code: exitError, err: fmt.Errorf("--ask-pass and --ask-become-pass need a terminal")}
		}
		if f.askPass {
			if sshOpener.Password, err = askSecret(stderr, tty, "SSH password: "); err != nil {
				return &codedError{code: exitError, err: err}
			}
			secrets.Add(sshOpener.Password)
		}
		if f.askBecomePass {
			if becomePassword, err = askSecret(stderr, tty, "BECOME password: "); err != nil {
				return &codedError{code: exitError, err: err}
			}
			secrets.Add(becomePassword)
		}
	}
	r := &runner.Runner{
		Connect:   sshOpener.Open,
		Registry:  reg,
		Inventory: inv,
		Loader:    loader,
		Reporter:  rep,
		Options: runner.Options{
			Check: f.check, Diff: f.diff, Forks: f.forks, Tags: f.tags, SkipTags: f.skipTags,
			ExtraVars: extra, Limit: f.limit, StartAtTask: f.startAtTask, Step: f.step,
			Verbosity: f.verbose, ForceHandlers: f.forceHandlers, AssumeYes: f.yes,
			Become: f.become, BecomeUser: f.becomeUser, In: in, PromptOut: promptWriter(stdout, stderr, f.output), Connection: f.connection,
			BecomePassword: becomePassword, Progress: progressWriter(stderr, f.output),
			Vault: opener, Redact: secrets,
		},
	}
	defer r.Close()
	outcome, err := r.Run(cmd.Context(), books)
	if cmd.Context().Err() != nil {
		fmt.Fprintln(stderr, "ERROR! User interrupted execution")
		return &codedError{code: exitInterrupted}
	}
	if err != nil {
		return &codedError{code: exitError, err: err}
	}
	if f.retryFile != "" && len(outcome.FailedHosts) > 0 {
		names := secrets.String(strings.Join(outcome.FailedHosts, "\n") + "\n")
		if err := os.WriteFile(f.retryFile, []byte(names), 0o644); err != nil {
			fmt.Fprintf(stderr, "[WARNING]: could not write the retry file %s: %v\n", f.retryFile, err)
		} else if f.output == "text" {
			fmt.Fprintf(stdout, "\tto retry, use: --limit @%s\n\n", f.retryFile)
		}
	}
	if code := outcome.ExitCode(); code != 0 {
		return &codedError{code: code}
	}
	return nil
}

// promptWriter is where pause and --step speak: standard output, but
// standard error under --output json, whose standard output is events only.
func promptWriter(stdout, stderr io.Writer, output string) io.Writer {
	if output == "json" {
		return stderr
	}
	return stdout
}

// progressWriter is where long tasks show progress: standard error when
// it is a terminal and the output is text (JSON readers want events only).
func progressWriter(stderr io.Writer, output string) io.Writer {
	if f, ok := redact.Underlying(stderr).(*os.File); ok && output == "text" && term.IsTerminal(int(f.Fd())) {
		return stderr
	}
	return nil
}

func useColor(w io.Writer) bool {
	if os.Getenv("NO_COLOR") != "" || os.Getenv("ANSIBLE_NOCOLOR") != "" {
		return false
	}
	f, ok := redact.Underlying(w).(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// reportLoadErrors prints every file:line:col error with its excerpt and
// returns exit code 4, as Ansible does for parser errors.
func reportLoadErrors(w io.Writer, err error) error {
	var list diag.List
	var one *diag.Error
	switch {
	case errors.As(err, &list):
	case errors.As(err, &one):
		list = diag.List{one}
	default:
		return &codedError{code: exitParse, err: err}
	}
	for _, e := range list {
		if e.Excerpt == "" && e.Line > 0 {
			if src, err := os.ReadFile(e.File); err == nil {
				e.Excerpt = diag.Excerpt(src, e.Line, e.Col)
			}
		}
		fmt.Fprintln(w, e.Error())
		if e.Excerpt != "" {
			fmt.Fprint(w, e.Excerpt)
		}
	}
	noun := "error"
	if len(list) > 1 {
		noun = "errors"
	}
	return &codedError{code: exitParse, err: fmt.Errorf("%d %s found; nothing was run", len(list), noun)}
}

// parseExtraVars reads -e values: key=value words, YAML/JSON text, @file.
func parseExtraVars(values []string, opener *vault.Opener) (map[string]any, error) {
	out := map[string]any{}
	for _, v := range values {
		var vars map[string]any
		switch {
		case strings.HasPrefix(v, "@"):
			path := v[1:]
			src, err := os.ReadFile(path)
			if err != nil {
				return nil, fmt.Errorf("extra vars file %s: %w", path, err)
			}
			val, err := yamlx.LoadVault(path, src, opener)
			if err != nil {
				return nil, err
			}
			m, ok := val.(map[string]any)
			if !ok && val != nil {
				return nil, fmt.Errorf("extra vars file %s must hold a mapping", path)
			}
			vars = m
		case strings.HasPrefix(strings.TrimSpace(v), "{"), strings.HasPrefix(strings.TrimSpace(v), "---"):
			val, err := yamlx.Load("--extra-vars", []byte(v))
			if err != nil {
				return nil, err
			}
			m, ok := val.(map[string]any)
			if !ok {
				return nil, fmt.Errorf("--extra-vars %q must be a mapping", v)
			}
			vars = m
		default:
			words, err := playbook.SplitArgs(v)
			if err != nil {
				return nil, fmt.Errorf("--extra-vars: %w", err)
			}
			vars = map[string]any{}
			for _, w := range words {
				k, val, ok := strings.Cut(w, "=")
				if !ok {
					return nil, fmt.Errorf("--extra-vars: %q is not key=value", w)
				}
				if len(val) >= 2 && (val[0] == '"' || val[0] == '\'') && val[len(val)-1] == val[0] {
					val = val[1 : len(val)-1]
				}
				vars[k] = val
			}
		}
		for k, x := range vars {
			out[k] = x
		}
	}
	return out, nil
}

// askSecret reads a password from the terminal without echo.
func askSecret(w io.Writer, tty *os.File, prompt string) (string, error) {
	fmt.Fprint(w, prompt)
	b, err := term.ReadPassword(int(tty.Fd()))
	fmt.Fprintln(w)
	if err != nil {
		return "", fmt.Errorf("read password: %w", err)
	}
	return string(b), nil
}
