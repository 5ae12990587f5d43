package main_test

import (
	"bytes"
	"errors"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// TestDeploymentExamples parses every YAML file under configs/ (every
// document of it), checks what the Kubernetes examples promise (probes on
// /healthz and /readyz, the CronJob's command, a ConfigMap whose
// payrecon.yaml passes `payrecon config check`), and runs
// `systemd-analyze verify` on the systemd units when it is installed.
func TestDeploymentExamples(t *testing.T) {
	root := filepath.Join("..", "..", "configs")
	var docs []map[string]any
	var files, units []string
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		switch filepath.Ext(path) {
		case ".yaml", ".yml":
			files = append(files, path)
			b, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			dec := yaml.NewDecoder(bytes.NewReader(b))
			for i := 0; ; i++ {
				var doc map[string]any
				err := dec.Decode(&doc)
				if errors.Is(err, io.EOF) {
					break
				}
				if err != nil {
					t.Errorf("%s document %d: %v", path, i+1, err)
					break
				}
				if doc != nil {
					doc["_file"] = path
					docs = append(docs, doc)
				}
			}
		case ".service", ".timer":
			units = append(units, path)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(files) < 3 || len(units) < 4 {
		t.Fatalf("found %d YAML files and %d units under configs/", len(files), len(units))
	}

	kinds := map[string]map[string]any{}
	for _, d := range docs {
		kind, _ := d["kind"].(string)
		if kind == "" {
			continue // payrecon configuration, checked by the config package
		}
		if d["apiVersion"] == nil || dig(d, "metadata", "name") == nil {
			t.Errorf("%s: %s without apiVersion or metadata.name", d["_file"], kind)
		}
		kinds[kind] = d
	}
	for _, k := range []string{"Deployment", "Service", "ConfigMap", "CronJob"} {
		if kinds[k] == nil {
			t.Errorf("no %s among the Kubernetes examples", k)
		}
	}
	if dep := kinds["Deployment"]; dep != nil {
		c := dig(dep, "spec", "template", "spec", "containers", 0)
		if p := dig(c, "livenessProbe", "httpGet", "path"); p != "/healthz" {
			t.Errorf("Deployment liveness probe path %v, want /healthz", p)
		}
		if p := dig(c, "readinessProbe", "httpGet", "path"); p != "/readyz" {
			t.Errorf("Deployment readiness probe path %v, want /readyz", p)
		}
		if a := dig(c, "args", 0); a != "serve" {
			t.Errorf("Deployment args %v", dig(c, "args"))
		}
	}
	if cj := kinds["CronJob"]; cj != nil {
		c := dig(cj, "spec", "jobTemplate", "spec", "template", "spec", "containers", 0)
		if a, b := dig(c, "args", 0), dig(c, "args", 1); a != "schedule" || b != "--once" {
			t.Errorf("CronJob args %v", dig(c, "args"))
		}
		if tz := dig(cj, "spec", "timeZone"); tz != "Asia/Shanghai" {
			t.Errorf("CronJob timeZone %v", tz)
		}
	}
	if cm := kinds["ConfigMap"]; cm != nil {
		cfg, _ := dig(cm, "data", "payrecon.yaml").(string)
		path := filepath.Join(t.TempDir(), "payrecon.yaml")
		if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command(bin, "--config", path, "config", "check")
		cmd.Env = append(os.Environ(), "PAYRECON_CONFIG=", "LOG_LEVEL=", "PAYRECON_MYSQL_DSN=u:p@tcp(db:3306)/payrecon?parseTime=true&loc=UTC")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Errorf("the ConfigMap's payrecon.yaml fails config check: %v\n%s", err, out)
		}
	}

	sa, err := exec.LookPath("systemd-analyze")
	if err != nil {
		t.Skip("systemd-analyze is not installed: systemd units not verified")
	}
	// verify wants ExecStart binaries that exist: point them at the test build.
	dir := t.TempDir()
	var args []string
	for _, u := range units {
		b, err := os.ReadFile(u)
		if err != nil {
			t.Fatal(err)
		}
		dst := filepath.Join(dir, filepath.Base(u))
		if err := os.WriteFile(dst, bytes.ReplaceAll(b, []byte("/usr/local/bin/payrecon"), []byte(bin)), 0o644); err != nil {
			t.Fatal(err)
		}
		args = append(args, dst)
	}
	out, err := exec.Command(sa, append([]string{"verify", "--man=no"}, args...)...).CombinedOutput()
	if err != nil || strings.Contains(string(out), "Unknown") || strings.Contains(string(out), "rror") {
		t.Errorf("systemd-analyze verify: %v\n%s", err, out)
	}
}

// dig walks maps by key and slices by index; nil when a step is missing.
func dig(v any, path ...any) any {
	for _, p := range path {
		switch k := p.(type) {
		case string:
			m, ok := v.(map[string]any)
			if !ok {
				return nil
			}
			v = m[k]
		case int:
			s, ok := v.([]any)
			if !ok || k >= len(s) {
				return nil
			}
			v = s[k]
		}
	}
	return v
}
