// Package fed is federated learning of trustml's networks over NATS:
// personalized federated learning with learnable partial sharing
// (Learn2pFed, training.md §18), against federated averaging (FedAvg) and
// local training without communication.
//
// # Data
//
// [DirichletSplit] gives each client a non-IID shard: every class is
// divided among the clients in proportions drawn from Dir(α·1), and each
// client's test set is drawn with the label distribution of its own
// training data, so a client's accuracy is personalized accuracy.
//
// # Methods
//
// Each round the server sends the global model w to every client. A FedAvg
// client trains w for some local epochs and uploads it; a Learn2pFed
// client keeps the personal model w + β⊙(v − w), where v is its model of
// the previous round and β_g = η/(η + Λ_g) is a learned personal fraction
// per parameter tensor (see [Mixer]), trains it, and uploads only the
// shared part v − z = w + (1−β)⊙(v − w). The server averages the uploads
// weighted by sample counts. Local clients train alone and send nothing.
// This is a reduced form of the paper's unrolled ADMM: one ADMM pass per
// round, multiplier α = 0, client weights p_r = n_r/n, and Λ learned by
// the gradient of the local loss through the mixing.
//
// # Messages
//
// The server listens on <prefix>.server, client j on <prefix>.client.j.
// Every message carries its kind, sender and round, so a duplicated,
// late or corrupt message is ignored and counted. Server and clients send
// heartbeats; a client silent (no upload, no heartbeat) for the round
// timeout is dropped, the round goes on with the others and the report
// names it; fewer than MinClients left stops the run with an error. The
// server counts the messages and bytes of each round.
//
// # Running
//
// [Fit] runs the clients as goroutines, each with its own NATS
// connection, against an embedded server (package natsnet) or an existing
// one. [Run] is the library call of `trustml fed`: data, split and, with
// Config.Procs, clients as separate OS processes (`trustml fed --client
// i --nats URL --run ID`), or with Config.External clients started
// elsewhere.
package fed
