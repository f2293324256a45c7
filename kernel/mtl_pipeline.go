package kernel

import (
	"fmt"
	"slices"
	"strconv"

	"github.com/trustml/trustml/data"
)

// taskColumn resolves a [Pipeline]'s Tasks (a feature name or 1-based
// column index) on d to a 1-based column; 0 when tasks is "".
func taskColumn(tasks string, d *data.Dataset) (int, error) {
	if tasks == "" {
		return 0, nil
	}
	nf := d.SampleSize()
	if i := slices.Index(d.Features, tasks); i >= 0 {
		return i + 1, nil
	}
	c, err := strconv.Atoi(tasks)
	if err != nil {
		return 0, fmt.Errorf("kernel: task column %q is not a feature of %s (features: %v) nor a column number: %w", tasks, d.Name, d.Features, ErrParam)
	}
	if c < 1 || c > nf {
		return 0, fmt.Errorf("kernel: task column %d: %s has feature columns 1..%d: %w", c, d.Name, nf, ErrParam)
	}
	return c, nil
}

// keepTaskColumn makes the standardization leave the task column (1-based;
// 0: none) as it is.
func keepTaskColumn(mean, std []float64, col int) ([]float64, []float64) {
	if col > 0 {
		mean[col-1], std[col-1] = 0, 1
	}
	return mean, std
}

// setTasks gives the pipeline's task column to the model built for it; a
// task column for a single-task method, or a multitask method without
// one, is an [ErrParam] error.
func (p *Pipeline) setTasks(r Regressor, c Classifier) error {
	var m any = c
	if r != nil {
		m = r
	}
	if p.taskCol == 0 {
		switch m.(type) {
		case *TensorMTLRegressor, *TensorMTLClassifier:
			return fmt.Errorf("kernel: method %s needs a task column (Pipeline.Tasks, --tasks COL): %w", p.Method, ErrParam)
		}
		return nil
	}
	if !setTaskColumn(m, p.taskCol) {
		return fmt.Errorf("kernel: method %s takes no task column; drop Tasks (--tasks) or use tlssvm-mtl or tsvm-mtl: %w", p.Method, ErrParam)
	}
	return nil
}
