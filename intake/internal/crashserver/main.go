// Command crashserver is the callback intake on a real store with the test
// verifier, for intake's crash test: the test runs it as a child process,
// kills it with SIGKILL mid-stream and restarts it. It prints
// "listening ADDR" on stdout once it accepts connections.
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/payrecon/payrecon/intake"
	"github.com/payrecon/payrecon/intake/internal/testverifier"
	"github.com/payrecon/payrecon/store"
)

func main() {
	driver := flag.String("driver", "sqlite", "sqlite or mysql")
	dsn := flag.String("dsn", "", "database DSN")
	listen := flag.String("listen", "127.0.0.1:0", "listen address")
	key := flag.String("key", "", "HMAC key of the test verifier")
	flag.Parse()
	if err := run(*driver, *dsn, *listen, *key); err != nil {
		fmt.Fprintln(os.Stderr, "crashserver:", err)
		os.Exit(1)
	}
}

func run(driver, dsn, listen, key string) error {
	ctx := context.Background()
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	db, err := store.Open(ctx, driver, dsn, log)
	if err != nil {
		return err
	}
	defer db.Close()
	if err := db.Migrate(ctx); err != nil {
		return err
	}
	h := intake.New(intake.Config{
		Accounts: map[string]intake.Account{
			"shop": {Provider: "wechat", Verifier: testverifier.Verifier{Key: []byte(key), Provider: "wechat"}},
		},
		Store:  db,
		Logger: log,
		Now:    time.Now,
	})
	ln, err := net.Listen("tcp", listen)
	if err != nil {
		return err
	}
	fmt.Printf("listening %s\n", ln.Addr())
	srv := &http.Server{Handler: h, ReadTimeout: 10 * time.Second, WriteTimeout: 10 * time.Second}
	return srv.Serve(ln)
}
