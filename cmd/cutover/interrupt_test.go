package main

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestInterruptExits99 sends Ctrl-C (SIGINT) to a run that is waiting and
// expects Ansible's exit code 99, promptly, with the wait cancelled.
func TestInterruptExits99(t *testing.T) {
	bin := cutoverBinary(t)
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "hosts.ini"), []byte("localhost ansible_connection=local\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "wait.yml"), []byte(`- hosts: all
  gather_facts: false
  tasks:
    - pause: {seconds: 60}
    - copy: {dest: "{{ playbook_dir }}/after", content: "x"}
`), 0o644)
	cmd := exec.Command(bin, "run", "-i", "hosts.ini", "wait.yml")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "NO_COLOR=1")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(stdout)
	for sc.Scan() {
		if strings.HasPrefix(sc.Text(), "Pausing") {
			break
		}
	}
	start := time.Now()
	cmd.Process.Signal(syscall.SIGINT)
	go func() {
		for sc.Scan() {
		}
	}()
	err = cmd.Wait()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 99 {
		t.Fatalf("exit: %v, want code 99", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("took %v to stop", d)
	}
	if _, err := os.Stat(filepath.Join(dir, "after")); err == nil {
		t.Error("the task after the interrupt ran")
	}
}
