package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/cutover/cutover/engine/conn"
)

var update = flag.Bool("update", false, "rewrite golden outputs in testdata/script")

// TestMain lets testscript run this binary as the "cutover" command. The
// tests' runs keep their connections in a control folder of their own,
// whose keeper is stopped when they end (test binaries this one starts as
// helpers share the folder).
func TestMain(m *testing.M) {
	commands := map[string]func(){
		"cutover": func() { os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr)) },
		// cutover-rc runs cutover, then prints its exit code on stderr and
		// succeeds, so scripts can assert the exact code.
		"cutover-rc": func() {
			code := run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
			fmt.Fprintf(os.Stderr, "exit code %d\n", code)
			os.Exit(0)
		},
	}
	if _, isCommand := commands[filepath.Base(os.Args[0])]; isCommand {
		testscript.Main(m, commands)
	}
	if dir := os.Getenv("CUTOVER_TEST_CONTROL_DIR"); dir != "" {
		os.Setenv("ANSIBLE_SSH_CONTROL_PATH_DIR", dir)
		testscript.Main(m, commands)
	}
	dir, err := os.MkdirTemp("", "cutover-test-cp")
	if err != nil {
		panic(err)
	}
	os.Setenv("ANSIBLE_SSH_CONTROL_PATH_DIR", dir)
	os.Setenv("CUTOVER_TEST_CONTROL_DIR", dir)
	testscript.Main(withKeeperStopped{m, dir}, commands)
}

// withKeeperStopped runs the tests, then stops the keeper of their control
// folder and removes it (testscript.Main exits the process itself).
type withKeeperStopped struct {
	m   *testing.M
	dir string
}

func (w withKeeperStopped) Run() int {
	code := w.m.Run()
	conn.StopKeeper(w.dir)
	os.RemoveAll(w.dir)
	return code
}

// TestScripts runs the CLI scenarios in testdata/script: each file holds a
// playbook, an inventory, the commands, and the expected output and exit
// codes.
func TestScripts(t *testing.T) {
	testscript.Run(t, testscript.Params{
		Dir:           "testdata/script",
		UpdateScripts: *update,
		Setup: func(env *testscript.Env) error {
			env.Setenv("NO_COLOR", "1")
			env.Setenv("ANSIBLE_SSH_CONTROL_PATH_DIR", os.Getenv("ANSIBLE_SSH_CONTROL_PATH_DIR"))
			return nil
		},
	})
}
