package shard_test

import (
	"fmt"

	"github.com/trustml/trustml/shard"
)

// Split ten samples over three jobs, then check that the three reports to
// be merged cover the evaluation exactly once.
func Example() {
	var specs []shard.Spec
	for _, arg := range []string{"0/3", "1/3", "2/3"} {
		s, err := shard.Parse(arg) // e.g. from --shard
		if err != nil {
			fmt.Println(err)
			return
		}
		fmt.Println(s, s.Indices(10))
		specs = append(specs, s)
	}
	fmt.Println("complete:", shard.CheckCover(specs) == nil)
	fmt.Println(shard.CheckCover(specs[:2]))
	// Output:
	// 0/3 [0 3 6 9]
	// 1/3 [1 4 7]
	// 2/3 [2 5 8]
	// complete: true
	// shard: invalid shard: missing shards 2/3
}
