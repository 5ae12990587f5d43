// Package sign holds the cryptography every provider shares: SM2/SM3
// (this file, the only one that imports tjfoc/gmsm), RSA, AES-GCM and the
// sort-and-join of fields that several providers sign.
package sign

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/rand"
	"encoding/asn1"
	"encoding/base64"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"strings"

	"github.com/tjfoc/gmsm/sm2"
	"github.com/tjfoc/gmsm/x509"

	"github.com/payrecon/payrecon"
)

// SM2PublicKey is an SM2 public key. The zero value is not usable.
type SM2PublicKey struct{ k *sm2.PublicKey }

// SM2PrivateKey is an SM2 private key. The zero value is not usable.
type SM2PrivateKey struct{ k *sm2.PrivateKey }

// ParseSM2PublicKey reads an SM2 public key written as a PEM "PUBLIC KEY"
// (SPKI) or "CERTIFICATE" block, base64 of the SPKI DER, or hex of the point
// ("04"+X+Y or X+Y, 32-byte coordinates; or SEC1 compressed "02"/"03"+X).
// The point must be on the curve.
func ParseSM2PublicKey(text string) (SM2PublicKey, error) {
	s := strings.TrimSpace(text)
	if s == "" {
		return SM2PublicKey{}, errors.New("sm2 public key: empty")
	}
	var pub *sm2.PublicKey
	switch {
	case strings.HasPrefix(s, "-----BEGIN"):
		block, _ := pem.Decode([]byte(s))
		if block == nil {
			return SM2PublicKey{}, errors.New("sm2 public key: bad PEM")
		}
		switch block.Type {
		case "PUBLIC KEY":
			k, err := x509.ParseSm2PublicKey(block.Bytes)
			if err != nil {
				return SM2PublicKey{}, fmt.Errorf("sm2 public key: %w", err)
			}
			pub = k
		case "CERTIFICATE":
			cert, err := x509.ParseCertificate(block.Bytes)
			if err != nil {
				return SM2PublicKey{}, fmt.Errorf("sm2 certificate: %w", err)
			}
			ec, ok := cert.PublicKey.(*ecdsa.PublicKey)
			if !ok || ec.Curve != sm2.P256Sm2() {
				return SM2PublicKey{}, errors.New("sm2 certificate: not an SM2 key")
			}
			//lint:ignore SA1019 gmsm's sm2.PublicKey is built from the big.Int coordinates; there is no other way in
			pub = &sm2.PublicKey{Curve: ec.Curve, X: ec.X, Y: ec.Y}
		default:
			return SM2PublicKey{}, fmt.Errorf("sm2 public key: PEM type %q, want PUBLIC KEY or CERTIFICATE", block.Type)
		}
	case isHex(s) && len(s) == 66 && (s[:2] == "02" || s[:2] == "03"):
		// SEC1 compressed. gmsm's Decompress wants prefix 0x00/0x01 for
		// even/odd Y instead of 0x02/0x03 (pitfall G7).
		b, _ := hex.DecodeString(s)
		pub = decompress(append([]byte{b[0] - 2}, b[1:]...))
		if pub == nil {
			return SM2PublicKey{}, errors.New("sm2 public key: bad compressed point")
		}
	case isHex(s) && (len(s) == 130 || len(s) == 128):
		k, err := x509.ReadPublicKeyFromHex(s)
		if err != nil {
			return SM2PublicKey{}, fmt.Errorf("sm2 public key hex: %w", err)
		}
		pub = k
	default:
		der, err := base64.StdEncoding.DecodeString(s)
		if err != nil {
			return SM2PublicKey{}, errors.New("sm2 public key: neither PEM, hex nor base64")
		}
		k, err := x509.ParseSm2PublicKey(der)
		if err != nil {
			return SM2PublicKey{}, fmt.Errorf("sm2 public key: %w", err)
		}
		pub = k
	}
	//lint:ignore SA1019 gmsm's SM2 curve is an elliptic.Curve; crypto/ecdh has no SM2 to check the point with
	if pub.X == nil || pub.Y == nil || !pub.Curve.IsOnCurve(pub.X, pub.Y) {
		return SM2PublicKey{}, errors.New("sm2 public key: point is not on the curve")
	}
	return SM2PublicKey{k: pub}, nil
}

// ParseSM2PrivateKey reads an SM2 private key written as an unencrypted
// PKCS#8 PEM ("PRIVATE KEY") or as hex of D (64 digits).
func ParseSM2PrivateKey(text string) (SM2PrivateKey, error) {
	s := strings.TrimSpace(text)
	if strings.HasPrefix(s, "-----BEGIN") {
		k, err := x509.ReadPrivateKeyFromPem([]byte(s), nil)
		if err != nil {
			return SM2PrivateKey{}, fmt.Errorf("sm2 private key: %w", err)
		}
		return SM2PrivateKey{k: k}, nil
	}
	d, ok := new(big.Int).SetString(s, 16)
	if !ok || len(s) > 64 || strings.HasPrefix(s, "-") || strings.HasPrefix(s, "+") {
		return SM2PrivateKey{}, errors.New("sm2 private key: neither PKCS#8 PEM nor 64 hex digits")
	}
	if d.Sign() <= 0 {
		return SM2PrivateKey{}, errors.New("sm2 private key: zero")
	}
	k, err := x509.ReadPrivateKeyFromHex(fmt.Sprintf("%064x", d))
	if err != nil {
		return SM2PrivateKey{}, fmt.Errorf("sm2 private key: %w", err)
	}
	return SM2PrivateKey{k: k}, nil
}

// GenerateSM2Key makes a fresh key pair (sandboxes, tests).
func GenerateSM2Key() (SM2PrivateKey, error) {
	k, err := sm2.GenerateKey(rand.Reader)
	if err != nil {
		return SM2PrivateKey{}, fmt.Errorf("generate sm2 key: %w", err)
	}
	return SM2PrivateKey{k: k}, nil
}

// Public returns the key's public half.
func (k SM2PrivateKey) Public() SM2PublicKey { return SM2PublicKey{k: &k.k.PublicKey} }

// Valid reports whether the key was set.
func (k SM2PrivateKey) Valid() bool { return k.k != nil }

// Valid reports whether the key was set.
func (k SM2PublicKey) Valid() bool { return k.k != nil }

// Hex returns D as 64 lowercase hex digits, zero-padded (pitfall G6).
func (k SM2PrivateKey) Hex() string { return fmt.Sprintf("%064x", k.k.D) }

// PEM returns the key as an unencrypted PKCS#8 PEM block.
func (k SM2PrivateKey) PEM() (string, error) {
	b, err := x509.WritePrivateKeyToPem(k.k, nil)
	if err != nil {
		return "", fmt.Errorf("sm2 private key pem: %w", err)
	}
	return string(b), nil
}

// Hex returns "04"+X+Y, 130 lowercase hex digits.
func (k SM2PublicKey) Hex() string { return x509.WritePublicKeyToHex(k.k) }

// PEM returns the key as a "PUBLIC KEY" (SPKI) PEM block.
func (k SM2PublicKey) PEM() (string, error) {
	b, err := x509.WritePublicKeyToPem(k.k)
	if err != nil {
		return "", fmt.Errorf("sm2 public key pem: %w", err)
	}
	return string(b), nil
}

// Base64 returns the SPKI DER in standard base64.
func (k SM2PublicKey) Base64() (string, error) {
	der, err := x509.MarshalSm2PublicKey(k.k)
	if err != nil {
		return "", fmt.Errorf("sm2 public key: %w", err)
	}
	return base64.StdEncoding.EncodeToString(der), nil
}

// Equal reports whether both keys are the same point.
func (k SM2PublicKey) Equal(o SM2PublicKey) bool {
	return k.k != nil && o.k != nil && k.k.X.Cmp(o.k.X) == 0 && k.k.Y.Cmp(o.k.Y) == 0
}

// SignDER signs msg (the message itself: SM3 over Z(default uid)||msg is
// done inside, pitfall G1) and returns the ASN.1 DER signature.
func (k SM2PrivateKey) SignDER(msg []byte) ([]byte, error) {
	if k.k == nil {
		return nil, errors.New("sm2 sign: no key")
	}
	der, err := k.k.Sign(rand.Reader, msg, nil)
	if err != nil {
		return nil, fmt.Errorf("sm2 sign: %w", err)
	}
	return der, nil
}

// SignBase64 is SignDER in standard base64, the form Huawei puts on the wire.
func (k SM2PrivateKey) SignBase64(msg []byte) (string, error) {
	der, err := k.SignDER(msg)
	if err != nil {
		return "", err
	}
	return base64.StdEncoding.EncodeToString(der), nil
}

type sm2Sig struct{ R, S *big.Int }

// VerifyDER checks a DER signature of msg with the default uid. Anything
// but a valid, canonically encoded signature returns an error wrapping
// payrecon.ErrSignatureInvalid.
func (k SM2PublicKey) VerifyDER(msg, der []byte) (err error) {
	if k.k == nil {
		return fmt.Errorf("%w: no sm2 key", payrecon.ErrSignatureInvalid)
	}
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%w: sm2 verify failed", payrecon.ErrSignatureInvalid)
		}
	}()
	var sig sm2Sig
	rest, uerr := asn1.Unmarshal(der, &sig)
	if uerr != nil || len(rest) != 0 || sig.R == nil || sig.S == nil {
		return fmt.Errorf("%w: malformed sm2 signature", payrecon.ErrSignatureInvalid)
	}
	if again, merr := asn1.Marshal(sig); merr != nil || !bytes.Equal(again, der) {
		return fmt.Errorf("%w: non-canonical sm2 signature", payrecon.ErrSignatureInvalid)
	}
	if !k.k.Verify(msg, der) {
		return fmt.Errorf("%w: sm2 signature does not match", payrecon.ErrSignatureInvalid)
	}
	return nil
}

// VerifyBase64 is VerifyDER for a standard-base64 signature.
func (k SM2PublicKey) VerifyBase64(msg []byte, sig string) error {
	der, err := base64.StdEncoding.DecodeString(strings.TrimSpace(sig))
	if err != nil || len(der) == 0 {
		return fmt.Errorf("%w: signature is not base64", payrecon.ErrSignatureInvalid)
	}
	return k.VerifyDER(msg, der)
}

// decompress is sm2.Decompress, which panics when X has no square root.
func decompress(b []byte) (pub *sm2.PublicKey) {
	defer func() {
		if recover() != nil {
			pub = nil
		}
	}()
	if new(big.Int).SetBytes(b[1:]).Cmp(sm2.P256Sm2().Params().P) >= 0 {
		return nil
	}
	return sm2.Decompress(b)
}

func isHex(s string) bool {
	if len(s)%2 != 0 {
		return false
	}
	_, err := hex.DecodeString(s)
	return err == nil
}
