// Package natsnet starts the embedded NATS server that trustml's
// distributed methods (decentralized KRR, federated learning) exchange their
// messages over when no existing NATS cluster is given. One machine then
// needs nothing else; a --nats nats://… flag joins a real cluster instead.
package natsnet

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats-server/v2/server"
)

// Server is an embedded NATS server started in this process.
type Server struct {
	s *server.Server
}

// Start starts an embedded NATS server on a free loopback port.
func Start() (*Server, error) {
	s, err := server.NewServer(&server.Options{Host: "127.0.0.1", Port: server.RANDOM_PORT, NoLog: true, NoSigs: true, MaxPayload: 8 << 20})
	if err != nil {
		return nil, fmt.Errorf("natsnet: embedded NATS server: %w", err)
	}
	go s.Start()
	if !s.ReadyForConnections(10 * time.Second) {
		s.Shutdown()
		return nil, errors.New("natsnet: embedded NATS server did not start within 10s")
	}
	return &Server{s: s}, nil
}

// URL is the nats:// address clients connect to.
func (s *Server) URL() string { return s.s.ClientURL() }

// Close shuts the server down.
func (s *Server) Close() { s.s.Shutdown(); s.s.WaitForShutdown() }

// RunID returns a random identifier for a run's NATS subjects, shared by a
// coordinator and the node processes it starts.
func RunID() string {
	var b [6]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// Args returns the fields of the struct cfg tagged `flag:"name"` as
// command-line flags --name=value (floats in their shortest exact form):
// the command line with which a coordinator starts a node process of its
// run, given the same configuration.
func Args(cfg any) []string {
	var out []string
	v := reflect.ValueOf(cfg)
	for i := range v.NumField() {
		name, ok := v.Type().Field(i).Tag.Lookup("flag")
		if !ok {
			continue
		}
		s := fmt.Sprint(v.Field(i).Interface())
		if x, ok := v.Field(i).Interface().(float64); ok {
			s = strconv.FormatFloat(x, 'g', -1, 64)
		}
		out = append(out, "--"+name+"="+s)
	}
	return out
}

// SetArgs is the inverse of [Args]: it sets the fields of the struct *cfg
// from flags --name=value (durations, strings, bools, ints, uint64s and
// floats), for a node process that receives its coordinator's
// configuration without a flag parser. A flag naming no field is ignored.
func SetArgs(cfg any, args []string) error {
	v := reflect.ValueOf(cfg).Elem()
	for _, a := range args {
		name, val, _ := strings.Cut(strings.TrimPrefix(a, "--"), "=")
		for i := range v.NumField() {
			if v.Type().Field(i).Tag.Get("flag") != name {
				continue
			}
			f := v.Field(i)
			var err error
			switch f.Interface().(type) {
			case time.Duration:
				var d time.Duration
				d, err = time.ParseDuration(val)
				f.SetInt(int64(d))
			case string:
				f.SetString(val)
			case bool:
				var b bool
				b, err = strconv.ParseBool(val)
				f.SetBool(b)
			case int:
				var n int64
				n, err = strconv.ParseInt(val, 10, 64)
				f.SetInt(n)
			case uint64:
				var n uint64
				n, err = strconv.ParseUint(val, 10, 64)
				f.SetUint(n)
			case float64:
				var x float64
				x, err = strconv.ParseFloat(val, 64)
				f.SetFloat(x)
			default:
				err = fmt.Errorf("no parser for %T", f.Interface())
			}
			if err != nil {
				return fmt.Errorf("natsnet: %s: %w", a, err)
			}
		}
	}
	return nil
}
