// Package natsnet starts the embedded NATS server that trustml's
// distributed methods (decentralized KRR, federated learning) exchange their
// messages over when no existing NATS cluster is given. One machine then
// needs nothing else; a --nats nats://… flag joins a real cluster instead.
package natsnet

import (
	"errors"
	"fmt"
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
