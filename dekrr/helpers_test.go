package dekrr

import "github.com/nats-io/nats.go"

func natsMsg(b []byte) *nats.Msg { return &nats.Msg{Data: b} }
