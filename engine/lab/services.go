package lab

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/cutover/cutover/engine/dnslab"
)

// Queues are the archives' queues and the keys bound to them: the LIVE
// archives read archives.live; the rehearsal's test keys reach
// archives.test only.
var Queues = map[string][]string{
	"archives.live": {"oas.staff", "oas.projects"},
	"archives.test": {"oas.staff.test", "oas.projects.test"},
}

// BrokerURL is the lab's vhost on the machine's RabbitMQ, as the lab user.
func BrokerURL() string {
	return fmt.Sprintf("amqp://%s:%s@127.0.0.1:5672/%s", AmqpUser, AmqpPassword, Vhost)
}

// brokerChannel opens a channel on the lab's vhost; closing the
// connection closes it.
func brokerChannel() (*amqp.Connection, *amqp.Channel, error) {
	c, err := amqp.Dial(BrokerURL())
	if err != nil {
		return nil, nil, err
	}
	ch, err := c.Channel()
	if err != nil {
		c.Close()
		return nil, nil, err
	}
	return c, ch, nil
}

// broker makes the lab's vhost, user, exchange and queues.
func (l *Lab) broker(ctx context.Context) error {
	if err := rabbitmqctl(ctx, "", "add_vhost", Vhost); err != nil && !strings.Contains(err.Error(), "already exists") {
		return err
	}
	// The password goes on stdin, never in an argument.
	if err := rabbitmqctl(ctx, AmqpPassword, "add_user", AmqpUser); err != nil && !strings.Contains(err.Error(), "already exists") {
		return err
	}
	if err := rabbitmqctl(ctx, "", "set_permissions", "-p", Vhost, AmqpUser, ".*", ".*", ".*"); err != nil {
		return err
	}
	c, ch, err := brokerChannel()
	if err != nil {
		return err
	}
	defer c.Close()
	if err := ch.ExchangeDeclare("oas", amqp.ExchangeTopic, true, false, false, false, nil); err != nil {
		return err
	}
	for q, keys := range Queues {
		if _, err := ch.QueueDeclare(q, true, false, false, false, nil); err != nil {
			return err
		}
		for _, k := range keys {
			if err := ch.QueueBind(q, k, "oas", false, nil); err != nil {
				return err
			}
		}
	}
	l.logf("RabbitMQ: vhost %s, exchange oas, queues archives.live and archives.test", Vhost)
	return nil
}

func (l *Lab) removeBroker(ctx context.Context) error {
	var errs []error
	for _, args := range [][]string{{"delete_vhost", Vhost}, {"delete_user", AmqpUser}} {
		if err := rabbitmqctl(ctx, "", args...); err != nil && !strings.Contains(err.Error(), "not_found") &&
			!strings.Contains(err.Error(), "does not exist") && !strings.Contains(err.Error(), "No such") {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

func rabbitmqctl(ctx context.Context, stdin string, args ...string) error {
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "rabbitmqctl", args...)
	cmd.Stdin = strings.NewReader(stdin)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("rabbitmqctl %s: %v: %s", args[0], err, strings.TrimSpace(string(out)))
	}
	return nil
}

// dnsDir holds BIND's configuration, zone, journal and pid file.
func (l *Lab) dnsDir() string { return filepath.Join(l.Dir, "dns") }

// startDNS runs BIND for the zone, its names on the old VMs, unless it
// runs already.
func (l *Lab) startDNS(ctx context.Context) error {
	dir := l.dnsDir()
	if pidAlive(filepath.Join(dir, "named.pid")) {
		return nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	if _, err := os.Stat(filepath.Join(dir, "named.conf")); err != nil {
		var records []string
		for _, s := range []string{"finance", "timesheets", "hrdb", "tenders", "archives-db", "mapdata"} {
			records = append(records, fmt.Sprintf("%s 300 IN A %s", s, old(s).Addr()))
		}
		records = append(records, "rabbitmq 300 IN A "+Broker)
		if err := dnslab.WriteConfig(dir, "127.0.0.1", DNSPort, Zone, DNSKeyName, DNSKeySecret, records); err != nil {
			return err
		}
	}
	// Without -f named daemonizes and writes its pid file.
	cmd := exec.CommandContext(ctx, "named", "-c", filepath.Join(dir, "named.conf"), "-L", filepath.Join(dir, "named.log"))
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("named: %v: %s", err, out)
	}
	for i := 0; i < 200 && !answers(fmt.Sprintf("127.0.0.1:%d", DNSPort)); i++ {
		time.Sleep(50 * time.Millisecond)
	}
	if !answers(fmt.Sprintf("127.0.0.1:%d", DNSPort)) {
		log, _ := os.ReadFile(filepath.Join(dir, "named.log"))
		return fmt.Errorf("named does not answer on 127.0.0.1:%d:\n%s", DNSPort, log)
	}
	l.logf("BIND: zone %s on 127.0.0.1:%d, updates signed with key %s", Zone, DNSPort, DNSKeyName)
	return nil
}

// startRelay runs "cutover lab relay --dir DIR" in the background unless
// it runs already.
func (l *Lab) startRelay(ctx context.Context) error {
	pidFile := filepath.Join(l.Dir, "relay.pid")
	if pidAlive(pidFile) {
		return nil
	}
	exe := l.Executable
	if exe == "" {
		var err error
		if exe, err = os.Executable(); err != nil {
			return err
		}
	}
	logf, err := os.OpenFile(filepath.Join(l.Dir, "relay.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	defer logf.Close()
	cmd := exec.Command(exe, "lab", "relay", "--dir", l.Dir)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		return err
	}
	if err := os.WriteFile(pidFile, []byte(fmt.Sprint(cmd.Process.Pid)), 0o644); err != nil {
		return err
	}
	cmd.Process.Release()
	l.logf("relay: pg_amqp stand-in and archives consumer (pid %d, log %s)", readPid(pidFile), filepath.Join(l.Dir, "relay.log"))
	return nil
}
