package huawei_test

import (
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/payrecon/payrecon/providers/huawei"
	"github.com/payrecon/payrecon/providers/huawei/sandbox"
)

// A config written in YAML (as an account's huawei section) decodes with
// every documented key, secrets through env:, and builds a client.
func TestConfigYAML(t *testing.T) {
	sb := mustSandbox(t, sandbox.Options{})
	ref := sb.MerchantConfig(huawei.ModelPartner)
	t.Setenv("HW_TEST_MERCHANT_KEY", ref.MerchantKey.Reveal())
	var keys strings.Builder
	for _, k := range ref.HuaweiPublicKeys {
		keys.WriteString("  - cert_no: \"" + k.CertNo + "\"\n    key: |\n")
		for _, line := range strings.Split(strings.TrimSpace(k.Key), "\n") {
			keys.WriteString("      " + line + "\n")
		}
	}
	doc := `model: partner
sp_merc_no: "` + ref.SpMercNo + `"
sub_merc_no: "` + ref.SubMercNo + `"
sp_app_id: "` + ref.SpAppID + `"
auth_id: "` + ref.AuthID + `"
merchant_key: env:HW_TEST_MERCHANT_KEY
key_type: sm2
base_url: ` + sb.URL() + `
timeout: 7s
callback_url: https://merchant.example/cb
huawei_public_keys:
` + keys.String()
	dec := yaml.NewDecoder(strings.NewReader(doc))
	dec.KnownFields(true)
	var cfg huawei.Config
	if err := dec.Decode(&cfg); err != nil {
		t.Fatal(err)
	}
	if cfg.Timeout != 7*time.Second || cfg.MerchantKey.Reveal() != ref.MerchantKey.Reveal() || len(cfg.HuaweiPublicKeys) != len(ref.HuaweiPublicKeys) {
		t.Fatalf("decoded %+v", cfg)
	}
	if _, err := huawei.New(cfg, nil); err != nil {
		t.Fatal(err)
	}
	out, err := yaml.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(out), ref.MerchantKey.Reveal()[40:80]) || !strings.Contains(string(out), "**redacted**") {
		t.Errorf("marshalled config shows the key:\n%s", out)
	}
}
