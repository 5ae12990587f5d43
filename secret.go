package payrecon

import (
	"fmt"
	"os"
	"strings"
)

// Secret holds a key, password or DSN. It prints as **redacted** in every
// format, so a secret that reaches a log line or a report shows nothing.
//
// In YAML a secret is written as "env:NAME" (read from the environment),
// "file:PATH" or a path starting with "/" or "./" (read from the file, trailing
// newline trimmed), or else the literal value.
type Secret struct{ v string }

// NewSecret wraps a literal value.
func NewSecret(v string) Secret { return Secret{v: v} }

// Reveal returns the secret's value. Call it only where the value is used.
func (s Secret) Reveal() string { return s.v }

// IsZero reports whether the secret is empty.
func (s Secret) IsZero() bool { return s.v == "" }

func (s Secret) String() string                { return "**redacted**" }
func (s Secret) GoString() string              { return "**redacted**" }
func (s Secret) Format(f fmt.State, verb rune) { _, _ = f.Write([]byte("**redacted**")) }
func (s Secret) MarshalText() ([]byte, error)  { return []byte("**redacted**"), nil }
func (s Secret) MarshalJSON() ([]byte, error)  { return []byte(`"**redacted**"`), nil }

// UnmarshalText resolves env: and file references.
func (s *Secret) UnmarshalText(b []byte) error {
	v, err := ResolveSecret(string(b))
	if err != nil {
		return err
	}
	s.v = v
	return nil
}

// ResolveSecret resolves "env:NAME", "file:PATH", "/abs/path", "./rel/path"; other text is literal.
func ResolveSecret(ref string) (string, error) {
	ref = strings.TrimSpace(ref)
	switch {
	case strings.HasPrefix(ref, "env:"):
		name := strings.TrimPrefix(ref, "env:")
		v, ok := os.LookupEnv(name)
		if !ok {
			return "", fmt.Errorf("environment variable %s is not set", name)
		}
		return v, nil
	case strings.HasPrefix(ref, "file:"), strings.HasPrefix(ref, "/"), strings.HasPrefix(ref, "./"):
		path := strings.TrimPrefix(ref, "file:")
		b, err := os.ReadFile(path)
		if err != nil {
			return "", fmt.Errorf("read secret file: %w", err)
		}
		return strings.TrimRight(string(b), "\r\n"), nil
	}
	return ref, nil
}
