package wechat_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/payrecon/payrecon/providers/wechat"
	"github.com/payrecon/payrecon/providers/wechat/sandbox"
)

func TestConfigYAML(t *testing.T) {
	sb := sandbox.New(nil, sandbox.Options{})
	defer sb.Close()
	m := sb.MerchantConfig()
	dir := t.TempDir()
	keyFile := filepath.Join(dir, "apiclient_key.pem")
	if err := os.WriteFile(keyFile, []byte(m.PrivateKey.Reveal()), 0o600); err != nil {
		t.Fatal(err)
	}
	certFile := filepath.Join(dir, "platform.pem")
	if err := os.WriteFile(certFile, []byte(m.PlatformKeys[0].KeyOrCert.Reveal()), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("WX_TEST_APIV3", m.APIv3Key.Reveal())
	doc := fmt.Sprintf(`
mchid: "%s"
appid: %s
serial_no: %s
private_key: file:%s
apiv3_key: env:WX_TEST_APIV3
platform_keys:
  - serial: %s
    key_or_cert: %s
base_url: %s
timestamp_skew: 2m
timeout: 15s
`, m.MchID, m.AppID, m.SerialNo, keyFile, m.PlatformKeys[0].Serial, certFile, m.BaseURL)
	var cfg wechat.Config
	if err := yaml.Unmarshal([]byte(doc), &cfg); err != nil {
		t.Fatal(err)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	if cfg.TimestampSkew != 2*time.Minute || cfg.Timeout != 15*time.Second || cfg.APIv3Key.Reveal() != m.APIv3Key.Reveal() || cfg.PrivateKey.Reveal() != strings.TrimRight(m.PrivateKey.Reveal(), "\n") {
		t.Fatalf("decoded %+v", cfg)
	}
	if _, err := wechat.New(cfg, nil); err != nil {
		t.Fatal(err)
	}
	// Secrets never print.
	for _, s := range []string{fmt.Sprintf("%v", cfg), fmt.Sprintf("%+v", cfg), fmt.Sprintf("%#v", cfg)} {
		if strings.Contains(s, m.APIv3Key.Reveal()) || strings.Contains(s, "PRIVATE KEY") {
			t.Fatalf("config prints a secret: %s", s)
		}
	}
	d := wechat.Config{}.WithDefaults()
	if d.BaseURL != wechat.DefaultBaseURL || d.TimestampSkew != 5*time.Minute || d.Timeout == 0 {
		t.Fatalf("defaults %+v", d)
	}
}
