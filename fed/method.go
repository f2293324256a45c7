package fed

import (
	"github.com/trustml/trustml/internal/registry"
)

// MethodInfo describes a federated method: what its clients exchange with
// the server and which model each client is evaluated with.
type MethodInfo struct {
	// Description is one line for help texts.
	Description string
	// Communicates says clients send models to the server and receive the
	// global model every round; without it clients only train locally.
	Communicates bool
	// Learned says each client mixes its own and the global model per
	// parameter group with learned weights ([Mixer]) before local
	// training and uploads only the shared part.
	Learned bool
	// Personal says each client is evaluated with its own model; otherwise
	// with the final global model.
	Personal bool
}

// Method names.
const (
	MethodLearn2pFed = "learn2pfed"
	MethodFedAvg     = "fedavg"
	MethodLocal      = "local"
)

var methods = registry.New[MethodInfo]("federated method")

// ErrUnknown is matched (errors.Is) by the error for an unknown method name.
var ErrUnknown = registry.ErrUnknown

// RegisterMethod adds a method under name (for init functions; it panics
// on a duplicate name).
func RegisterMethod(name string, m MethodInfo) { methods.Register(name, m) }

// LookupMethod returns the method registered under name, or an error
// matching [ErrUnknown] that lists the valid names.
func LookupMethod(name string) (MethodInfo, error) { return methods.Lookup(name) }

// MethodNames lists the registered methods.
func MethodNames() []string { return methods.Names() }

func init() {
	RegisterMethod(MethodLearn2pFed, MethodInfo{Description: "learnable partial sharing: per parameter group, a learned mix of the client's model and the global model (training.md §18)",
		Communicates: true, Learned: true, Personal: true})
	RegisterMethod(MethodFedAvg, MethodInfo{Description: "federated averaging: clients train the global model locally, the server averages weighted by sample counts",
		Communicates: true})
	RegisterMethod(MethodLocal, MethodInfo{Description: "local training only, no communication", Personal: true})
}
