package main_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/payrecon/payrecon/providers/huawei"
	"github.com/payrecon/payrecon/providers/huawei/sandbox"
	"github.com/payrecon/payrecon/providers/scenario"
)

// huaweiAccount renders a Huawei account section for the sandbox sb with
// the given extra provider lines.
func huaweiAccount(t *testing.T, sb *sandbox.Sandbox, extra string) string {
	t.Helper()
	mc := sb.MerchantConfig(huawei.ModelDirect)
	keyPath := filepath.Join(t.TempDir(), "merchant.pem")
	if err := os.WriteFile(keyPath, []byte(mc.MerchantKey.Reveal()), 0o600); err != nil {
		t.Fatal(err)
	}
	var keys strings.Builder
	for _, k := range mc.HuaweiPublicKeys {
		keys.WriteString("          - cert_no: \"" + k.CertNo + "\"\n            key: |\n")
		for _, line := range strings.Split(strings.TrimSpace(k.Key), "\n") {
			keys.WriteString("              " + line + "\n")
		}
	}
	return `accounts:
  - name: hw1
    provider: huawei
    huawei:
          merc_no: "` + mc.MercNo + `"
          app_id: "` + mc.AppID + `"
          auth_id: "` + mc.AuthID + `"
          merchant_key: ` + keyPath + `
          base_url: ` + sb.URL() + `
` + extra + `          huawei_public_keys:
` + keys.String() + "reports: {dir: " + filepath.Join(t.TempDir(), "reports") + "}\n"
}

// TestConfigCheckActionsNeedCallbackURL: with refunds enabled (the
// default), a Huawei account without callback_url fails `config check`
// (and any command that starts the actions) before any refund is
// approved; with refund_duplicate left out of jobs.provider_actions it
// passes, and with callback_url it passes.
func TestConfigCheckActionsNeedCallbackURL(t *testing.T) {
	sb, err := sandbox.New(&scenario.Scenario{}, sandbox.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer sb.Close()

	cfg, _ := writeConfig(t, huaweiAccount(t, sb, ""))
	r := run(t, "--config", cfg, "config", "check")
	if r.code == 0 || !strings.Contains(r.stderr, "callback_url") || !strings.Contains(r.stderr, "hw1") {
		t.Errorf("config check without callback_url, refunds enabled: %+v", r)
	}
	r = run(t, "--config", cfg, "actions", "list")
	if r.code == 0 || !strings.Contains(r.stderr, "callback_url") {
		t.Errorf("actions list without callback_url, refunds enabled: %+v", r)
	}

	cfg, _ = writeConfig(t, huaweiAccount(t, sb, "")+"jobs: {provider_actions: [close_order, unsign]}\n")
	if r := run(t, "--config", cfg, "config", "check"); r.code != 0 {
		t.Errorf("config check without callback_url, refunds disabled: %+v", r)
	}
	cfg, _ = writeConfig(t, huaweiAccount(t, sb, "          callback_url: https://merchant.test/cb\n"))
	if r := run(t, "--config", cfg, "config", "check"); r.code != 0 {
		t.Errorf("config check with callback_url: %+v", r)
	}
	cfg, _ = writeConfig(t, huaweiAccount(t, sb, "          callback_url: https://merchant.test/cb\n")+"jobs: {provider_actions: [backfill_ledger]}\n")
	if r := run(t, "--config", cfg, "config", "check"); r.code == 0 || !strings.Contains(r.stderr, "jobs.provider_actions[0]") {
		t.Errorf("config check with a ledger kind in provider_actions: %+v", r)
	}
}
