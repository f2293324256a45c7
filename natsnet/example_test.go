package natsnet_test

import (
	"fmt"
	"strings"

	"github.com/nats-io/nats.go"

	"github.com/trustml/trustml/natsnet"
)

// Example starts the embedded server, and one client publishes a message
// that another receives.
func Example() {
	srv, err := natsnet.Start()
	if err != nil {
		fmt.Println(err)
		return
	}
	defer srv.Close()
	fmt.Println(strings.HasPrefix(srv.URL(), "nats://127.0.0.1:"))

	nc, err := nats.Connect(srv.URL())
	if err != nil {
		fmt.Println(err)
		return
	}
	defer nc.Close()
	sub, err := nc.SubscribeSync("hello")
	if err != nil {
		fmt.Println(err)
		return
	}
	if err := nc.Publish("hello", []byte("world")); err != nil {
		fmt.Println(err)
		return
	}
	msg, err := sub.NextMsg(5e9)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(string(msg.Data))
	// Output:
	// true
	// world
}

// ExampleArgs turns a node's configuration into the flags of its process.
func ExampleArgs() {
	cfg := struct {
		Nodes  int     `flag:"nodes"`
		Lambda float64 `flag:"lambda"`
		Run    string  `flag:"run"`
		Note   string
	}{Nodes: 4, Lambda: 1e-4, Run: "r1"}
	fmt.Println(natsnet.Args(cfg))
	// Output:
	// [--nodes=4 --lambda=0.0001 --run=r1]
}
