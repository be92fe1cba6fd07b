package lab

import (
	"fmt"
	"os"
	"path/filepath"
)

// prepareFiles writes what the runbook edits on a host besides its
// databases: finance's scripts and crontab on the old finance VM, and a
// web app whose config.php holds the old addresses and passwords on every
// old VM. New VMs start without them: the playbooks copy them.
func (l *Lab) prepareFiles(h Host, root string) error {
	if h.Role != "old" {
		return nil
	}
	app := filepath.Join(root, "var/www", h.Service)
	if err := writeIfMissing(filepath.Join(app, "config.php"), configPHP(h), 0o640); err != nil {
		return err
	}
	if err := writeIfMissing(filepath.Join(app, "index.php"), "<?php require 'config.php'; echo 'ok';\n", 0o644); err != nil {
		return err
	}
	if h.Service != "finance" {
		return nil
	}
	// The web app's write, as CGI: GET /cgi-bin/note.sh?ID inserts one note.
	if err := writeIfMissing(filepath.Join(root, "var/www/cgi-bin/note.sh"), noteCGI(h), 0o755); err != nil {
		return err
	}
	home := filepath.Join(root, "home/finance")
	for name, body := range financeScripts(h) {
		if err := writeIfMissing(filepath.Join(home, name), body, 0o755); err != nil {
			return err
		}
		os.Chown(filepath.Join(home, name), 2003, 2003)
	}
	crontab := filepath.Join(root, "var/spool/cron/crontabs/finance")
	if err := writeIfMissing(crontab, financeCrontab, 0o600); err != nil {
		return err
	}
	return os.Chown(crontab, 2003, crontabGID())
}

// crontabGID is the crontab group's id (the spool's files belong to it).
func crontabGID() int {
	if st, err := os.Stat("/var/spool/cron/crontabs"); err == nil {
		if gid, ok := statGID(st); ok {
			return gid
		}
	}
	return 0
}

func configPHP(h Host) string {
	return fmt.Sprintf(`<?php
// %s web app settings.
$db_host = '%s';
$db_name = '%s';
$db_user = 'oas_link';
$db_password = '%s';
$finance_db = 'host=%s dbname=finance user=oas_link password=%s';
$timesheets_db = 'host=%s dbname=timesheets user=oas_link password=%s';
$amqp_host = '%s';
`, h.Service, h.Addr(), h.Service, LinkPassword, old("finance").Addr(), LinkPassword, old("timesheets").Addr(), LinkPassword, Broker)
}

// financeScripts are the finance VM's scripts the runbook copies: each
// works on the finance database through psql, by its old address.
func financeScripts(h Host) map[string]string {
	psql := fmt.Sprintf("PGPASSWORD=%s psql -h %s -U oas_link -d finance -qAt", LinkPassword, h.Addr())
	return map[string]string{
		"synchCommand.sh": `#!/bin/sh
# synchCommand.sh . SCRIPT [ARGS...] LOCKFILE: runs SCRIPT under a lock.
shift
lock=$(eval echo "\${$#}")
exec flock -n "$lock" "$@"
`,
		"midnightScripts.sh":         "#!/bin/sh\n" + psql + " -c 'SELECT count(*) FROM projects'\n",
		"pullTimeSheets.sh":          "#!/bin/sh\n# pullTimeSheets.sh WEEK\n" + psql + " -c \"SELECT pull_timesheets('$1')\"\n",
		"slipExpAndDatedProjects.sh": "#!/bin/sh\n" + psql + " -c 'SELECT count(*) FROM projects WHERE updated_at < now()'\n",
	}
}

func noteCGI(h Host) string {
	return fmt.Sprintf(`#!/bin/sh
# finance's web app writing: one note per request (GET /cgi-bin/note.sh?ID).
echo "Content-Type: text/plain"
echo
id=$(printf '%%s' "$QUERY_STRING" | tr -cd 0-9)
if PGPASSWORD=%s psql -h %s -U oas_link -d finance -qAt -c "INSERT INTO web_notes (id, body) VALUES ($id, 'note $id')" >/dev/null 2>&1
then echo "ok $id"
else echo "failed $id"
fi
`, LinkPassword, h.Addr())
}

const financeCrontab = `# finance's jobs
MAILTO=ops@thehumanjourney.net
0 0 * * * /home/finance/synchCommand.sh . /home/finance/midnightScripts.sh /home/finance/.financeLock
*/15 * * * * /home/finance/synchCommand.sh . /home/finance/pullTimeSheets.sh "$(date +\%F)" /home/finance/.financeLock
30 1 * * 1-5 /home/finance/synchCommand.sh . /home/finance/slipExpAndDatedProjects.sh /home/finance/.financeLock
`
