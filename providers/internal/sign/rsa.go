// RSA over SHA-256: PKCS#1 v1.5 (WeChat Pay v3, Alipay) and PSS with a
// 32-byte salt, and the key and certificate parsing they need.

package sign

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"strings"
)

// ErrRSAVerify is returned when an RSA signature does not verify.
var ErrRSAVerify = errors.New("rsa signature does not verify")

// SignSHA256RSA signs msg with SHA256withRSA (PKCS#1 v1.5) and returns the
// signature base64 (standard encoding), as WeChat Pay v3 and Alipay expect.
func SignSHA256RSA(key *rsa.PrivateKey, msg []byte) (string, error) {
	sum := sha256.Sum256(msg)
	sig, err := rsa.SignPKCS1v15(rand.Reader, key, crypto.SHA256, sum[:])
	if err != nil {
		return "", fmt.Errorf("sign sha256withrsa: %w", err)
	}
	return base64.StdEncoding.EncodeToString(sig), nil
}

// VerifySHA256RSA checks a base64 SHA256withRSA (PKCS#1 v1.5) signature over
// msg. A bad signature or bad base64 wraps ErrRSAVerify.
func VerifySHA256RSA(pub *rsa.PublicKey, msg []byte, sigB64 string) error {
	sig, err := base64.StdEncoding.DecodeString(strings.TrimSpace(sigB64))
	if err != nil {
		return fmt.Errorf("%w: signature is not base64", ErrRSAVerify)
	}
	sum := sha256.Sum256(msg)
	if err := rsa.VerifyPKCS1v15(pub, crypto.SHA256, sum[:], sig); err != nil {
		return ErrRSAVerify
	}
	return nil
}

// pssOptions is RSA-PSS with SHA-256, MGF1-SHA-256 and a 32-byte salt.
var pssOptions = &rsa.PSSOptions{SaltLength: 32, Hash: crypto.SHA256}

// SignPSS signs msg with RSASSA-PSS (SHA-256, salt 32) and returns base64.
func SignPSS(key *rsa.PrivateKey, msg []byte) (string, error) {
	sum := sha256.Sum256(msg)
	sig, err := rsa.SignPSS(rand.Reader, key, crypto.SHA256, sum[:], pssOptions)
	if err != nil {
		return "", fmt.Errorf("sign rsa-pss: %w", err)
	}
	return base64.StdEncoding.EncodeToString(sig), nil
}

// VerifyPSS checks a base64 RSASSA-PSS (SHA-256, salt 32) signature; a
// failure wraps ErrRSAVerify.
func VerifyPSS(pub *rsa.PublicKey, msg []byte, sigB64 string) error {
	sig, err := base64.StdEncoding.DecodeString(strings.TrimSpace(sigB64))
	if err != nil {
		return fmt.Errorf("%w: signature is not base64", ErrRSAVerify)
	}
	sum := sha256.Sum256(msg)
	if err := rsa.VerifyPSS(pub, crypto.SHA256, sum[:], sig, pssOptions); err != nil {
		return ErrRSAVerify
	}
	return nil
}

// ParseRSAPrivateKey reads an RSA private key from PEM ("PRIVATE KEY"
// PKCS#8 or "RSA PRIVATE KEY" PKCS#1). A bare base64 body without the PEM
// armour (as some providers' consoles hand out) is accepted too.
func ParseRSAPrivateKey(text []byte) (*rsa.PrivateKey, error) {
	der, err := pemOrBase64(text, "PRIVATE KEY", "RSA PRIVATE KEY")
	if err != nil {
		return nil, fmt.Errorf("parse rsa private key: %w", err)
	}
	if k, err := x509.ParsePKCS8PrivateKey(der); err == nil {
		rk, ok := k.(*rsa.PrivateKey)
		if !ok {
			return nil, fmt.Errorf("parse rsa private key: pkcs#8 key is %T, not rsa", k)
		}
		return rk, nil
	}
	k, err := x509.ParsePKCS1PrivateKey(der)
	if err != nil {
		return nil, errors.New("parse rsa private key: neither pkcs#8 nor pkcs#1")
	}
	return k, nil
}

// ParseRSAPublicKey reads an RSA public key from PEM: "PUBLIC KEY" (SPKI),
// "RSA PUBLIC KEY" (PKCS#1) or "CERTIFICATE" (the certificate's key). A bare
// base64 SPKI body is accepted too.
func ParseRSAPublicKey(text []byte) (*rsa.PublicKey, error) {
	if block, _ := pem.Decode(text); block != nil && block.Type == "CERTIFICATE" {
		pub, _, err := ParseRSACertificate(text)
		return pub, err
	}
	der, err := pemOrBase64(text, "PUBLIC KEY", "RSA PUBLIC KEY")
	if err != nil {
		return nil, fmt.Errorf("parse rsa public key: %w", err)
	}
	if k, err := x509.ParsePKIXPublicKey(der); err == nil {
		rk, ok := k.(*rsa.PublicKey)
		if !ok {
			return nil, fmt.Errorf("parse rsa public key: key is %T, not rsa", k)
		}
		return rk, nil
	}
	k, err := x509.ParsePKCS1PublicKey(der)
	if err != nil {
		return nil, errors.New("parse rsa public key: neither spki nor pkcs#1")
	}
	return k, nil
}

// ParseRSACertificate reads an X.509 certificate PEM and returns its RSA
// public key and its serial number as upper-case hex (the form WeChat Pay's
// Wechatpay-Serial header carries, e.g. "D7CE59D1F522D701").
func ParseRSACertificate(text []byte) (*rsa.PublicKey, string, error) {
	block, _ := pem.Decode(text)
	if block == nil || block.Type != "CERTIFICATE" {
		return nil, "", errors.New("parse certificate: no CERTIFICATE pem block")
	}
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		return nil, "", fmt.Errorf("parse certificate: %w", err)
	}
	pub, ok := cert.PublicKey.(*rsa.PublicKey)
	if !ok {
		return nil, "", fmt.Errorf("parse certificate: key is %T, not rsa", cert.PublicKey)
	}
	return pub, CertSerialHex(cert), nil
}

// CertSerialHex is a certificate's serial number as upper-case hex.
func CertSerialHex(cert *x509.Certificate) string {
	return strings.ToUpper(cert.SerialNumber.Text(16))
}

// MarshalRSAPrivateKeyPEM renders a key as PKCS#8 "PRIVATE KEY" PEM.
func MarshalRSAPrivateKeyPEM(key *rsa.PrivateKey) ([]byte, error) {
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, fmt.Errorf("marshal rsa private key: %w", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), nil
}

// MarshalRSAPublicKeyPEM renders a key as SPKI "PUBLIC KEY" PEM.
func MarshalRSAPublicKeyPEM(pub *rsa.PublicKey) ([]byte, error) {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return nil, fmt.Errorf("marshal rsa public key: %w", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}), nil
}

func pemOrBase64(text []byte, types ...string) ([]byte, error) {
	if block, _ := pem.Decode(text); block != nil {
		for _, t := range types {
			if block.Type == t {
				return block.Bytes, nil
			}
		}
		return nil, fmt.Errorf("unexpected pem block %q", block.Type)
	}
	s := strings.Join(strings.Fields(string(text)), "")
	if s == "" {
		return nil, errors.New("empty key")
	}
	der, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		return nil, errors.New("neither pem nor base64")
	}
	return der, nil
}
