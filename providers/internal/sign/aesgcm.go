package sign

import (
	"crypto/aes"
	"crypto/cipher"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
)

// ErrDecrypt is wrapped by every AES-GCM decryption failure (wrong key,
// tampered ciphertext, tag or associated data).
var ErrDecrypt = errors.New("aes-gcm decryption failed")

// AEAD_AES_256_GCM as WeChat Pay v3 uses it: the key is the APIv3 key's raw
// bytes, the nonce the resource's nonce string as raw ASCII (12 bytes), the
// associated data a string (may be empty), the ciphertext base64 of
// ciphertext‖16-byte tag. A 16-byte key (AES-128, as in the official test
// vector) and a 24-byte key work the same way.

func newGCM(key []byte, nonce string) (cipher.AEAD, error) {
	switch len(key) {
	case 16, 24, 32:
	default:
		return nil, fmt.Errorf("%w: key is %d bytes, want 16, 24 or 32", ErrDecrypt, len(key))
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrDecrypt, err)
	}
	if len(nonce) == 0 {
		return nil, fmt.Errorf("%w: empty nonce", ErrDecrypt)
	}
	if len(nonce) == 12 {
		return cipher.NewGCM(block)
	}
	g, err := cipher.NewGCMWithNonceSize(block, len(nonce))
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrDecrypt, err)
	}
	return g, nil
}

// DecryptAESGCM decrypts base64(ct‖tag) with key, the ASCII nonce and the
// associated data. Every failure wraps ErrDecrypt and names no key material.
func DecryptAESGCM(key []byte, nonce, associatedData, ciphertextB64 string) ([]byte, error) {
	g, err := newGCM(key, nonce)
	if err != nil {
		return nil, err
	}
	ct, err := base64.StdEncoding.DecodeString(strings.TrimSpace(ciphertextB64))
	if err != nil {
		return nil, fmt.Errorf("%w: ciphertext is not base64", ErrDecrypt)
	}
	if len(ct) < g.Overhead() {
		return nil, fmt.Errorf("%w: ciphertext shorter than the tag", ErrDecrypt)
	}
	pt, err := g.Open(nil, []byte(nonce), ct, []byte(associatedData))
	if err != nil {
		return nil, fmt.Errorf("%w: authentication failed (wrong key or tampered data)", ErrDecrypt)
	}
	return pt, nil
}

// EncryptAESGCM is the inverse of DecryptAESGCM (sandboxes use it to
// render notifications): it returns base64(ct‖tag).
func EncryptAESGCM(key []byte, nonce, associatedData string, plaintext []byte) (string, error) {
	g, err := newGCM(key, nonce)
	if err != nil {
		return "", fmt.Errorf("encrypt: %w", err)
	}
	ct := g.Seal(nil, []byte(nonce), plaintext, []byte(associatedData))
	return base64.StdEncoding.EncodeToString(ct), nil
}
