package oip

import "strconv"

// DecodeRequest parses and checks an inference request: known datatypes
// (FP32, FP64), a shape whose element count matches the data, data given
// flat or as nested arrays of numbers, finite float32 values. Every problem
// is an error wrapping [ErrBadRequest] that names the input and the field.
//
// The common shape of request (plain keys, flat data, no parameters) is read
// by a hand-written scanner, about five times faster than encoding/json (see
// BenchmarkDecodeRequest); any other body, valid or not, goes to the
// encoding/json decoder, so results and error messages are always that
// decoder's. FuzzDecodeRequest checks that whatever the fast path accepts,
// the general decoder accepts with the same values.
func DecodeRequest(body []byte) (*InferenceRequest, error) {
	if req, ok := fastDecode(body); ok {
		return req, nil
	}
	return decodeJSON(body)
}

// params reads an object of parameters whose values are booleans, numbers
// (as float64, like encoding/json) or strings without escapes.
func (s *scanner) params() (map[string]any, bool) {
	p := map[string]any{}
	ok := s.object(func(k string) bool {
		switch c := s.peek(); {
		case c == '"':
			v, ok := s.str()
			p[k] = v
			return ok
		case c == 't' || c == 'f':
			for _, w := range []string{"true", "false"} {
				if len(s.b)-s.i >= len(w) && string(s.b[s.i:s.i+len(w)]) == w {
					s.i += len(w)
					p[k] = w == "true"
					return true
				}
			}
			return false
		default:
			t, ok := s.number()
			if !ok {
				return false
			}
			v, err := strconv.ParseFloat(string(t), 64)
			p[k] = v
			return err == nil
		}
	})
	return p, ok
}

// scanner reads the restricted JSON the fast path accepts. Every method
// returns false on anything it does not handle; the caller then falls back.
type scanner struct {
	b []byte
	i int
}

func (s *scanner) ws() {
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case ' ', '\t', '\n', '\r':
			s.i++
		default:
			return
		}
	}
}

// lit consumes byte c after optional white space.
func (s *scanner) lit(c byte) bool {
	s.ws()
	if s.i < len(s.b) && s.b[s.i] == c {
		s.i++
		return true
	}
	return false
}

// peek returns the next non-space byte (0 at the end).
func (s *scanner) peek() byte {
	s.ws()
	if s.i < len(s.b) {
		return s.b[s.i]
	}
	return 0
}

// str reads a string of printable ASCII without escapes.
func (s *scanner) str() (string, bool) {
	if !s.lit('"') {
		return "", false
	}
	start := s.i
	for s.i < len(s.b) {
		c := s.b[s.i]
		if c == '"' {
			v := string(s.b[start:s.i])
			s.i++
			return v, true
		}
		if c < 0x20 || c > 0x7e || c == '\\' {
			return "", false
		}
		s.i++
	}
	return "", false
}

// key reads an object key and the colon after it.
func (s *scanner) key() (string, bool) {
	k, ok := s.str()
	if !ok || !s.lit(':') {
		return "", false
	}
	return k, true
}

// number returns the bytes of one number in strict JSON grammar:
// -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
func (s *scanner) number() ([]byte, bool) {
	s.ws()
	b, i := s.b, s.i
	start := i
	if i < len(b) && b[i] == '-' {
		i++
	}
	digits := func() int {
		n := 0
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
			n++
		}
		return n
	}
	if i < len(b) && b[i] == '0' {
		i++
	} else if digits() == 0 {
		return nil, false
	}
	if i < len(b) && b[i] == '.' {
		i++
		if digits() == 0 {
			return nil, false
		}
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		if digits() == 0 {
			return nil, false
		}
	}
	s.i = i
	return b[start:i], true
}

// dim reads a non-negative integer of at most 15 digits.
func (s *scanner) dim() (int64, bool) {
	t, ok := s.number()
	if !ok || len(t) > 15 {
		return 0, false
	}
	var v int64
	for _, c := range t {
		if c < '0' || c > '9' {
			return 0, false
		}
		v = v*10 + int64(c-'0')
	}
	return v, true
}

// list calls item for each element of an array.
func (s *scanner) list(item func() bool) bool {
	if !s.lit('[') {
		return false
	}
	if s.peek() == ']' {
		s.i++
		return true
	}
	for {
		if !item() {
			return false
		}
		if s.lit(']') {
			return true
		}
		if !s.lit(',') {
			return false
		}
	}
}

// object calls member for each key of an object, after its colon; a key
// seen twice fails.
func (s *scanner) object(member func(key string) bool) bool {
	if !s.lit('{') {
		return false
	}
	if s.peek() == '}' {
		s.i++
		return true
	}
	var seen [8]string
	n := 0
	for {
		k, ok := s.key()
		if !ok {
			return false
		}
		for _, p := range seen[:n] {
			if p == k {
				return false
			}
		}
		if n == len(seen) {
			return false
		}
		seen[n] = k
		n++
		if !member(k) {
			return false
		}
		if s.lit('}') {
			return true
		}
		if !s.lit(',') {
			return false
		}
	}
}

// fastDecode parses the common request shape; ok is false for anything else.
func fastDecode(body []byte) (*InferenceRequest, bool) {
	return fastDecodeBinary(body, nil, false)
}

// fastDecodeBinary is fastDecode for the JSON header of a binary
// extension request when binary is true: inputs with the binary_data_size
// parameter take their values from bin, which they must use up.
func fastDecodeBinary(body, bin []byte, binary bool) (*InferenceRequest, bool) {
	s := &scanner{b: body}
	req := &InferenceRequest{}
	var haveInputs bool
	ok := s.object(func(k string) bool {
		switch k {
		case "id":
			id, ok := s.str()
			req.ID = id
			return ok
		case "parameters":
			var ok bool
			req.Parameters, ok = s.params()
			return ok
		case "inputs":
			haveInputs = true
			return s.list(func() bool {
				var in RequestInput
				var ok bool
				in, bin, ok = s.input(len(body)+len(bin), bin, binary)
				if ok {
					req.Inputs = append(req.Inputs, in)
				}
				return ok
			})
		case "outputs":
			req.Outputs = []RequestOutput{}
			return s.list(func() bool {
				var o RequestOutput
				ok := s.object(func(k string) bool {
					var ok bool
					switch k {
					case "name":
						o.Name, ok = s.str()
					case "parameters":
						o.Parameters, ok = s.params()
					}
					return ok
				})
				req.Outputs = append(req.Outputs, o)
				return ok
			})
		}
		return false
	})
	if !ok || !haveInputs || len(req.Inputs) == 0 || len(bin) > 0 {
		return nil, false
	}
	if s.ws(); s.i != len(body) {
		return nil, false
	}
	return req, true
}

// input reads one input tensor with name, shape, datatype, parameters and
// flat data, in any order; its element count must match the data, which
// with binary true and a binary_data_size parameter is read from the front
// of bin (returned without it).
func (s *scanner) input(bodyLen int, bin []byte, binary bool) (RequestInput, []byte, bool) {
	in := RequestInput{Datatype: FP32}
	var haveShape, haveType, haveData bool
	var dt string
	count := int64(1)
	ok := s.object(func(k string) bool {
		switch k {
		case "name":
			var ok bool
			in.Name, ok = s.str()
			return ok
		case "datatype":
			var ok bool
			dt, ok = s.str()
			haveType = true
			return ok && (dt == FP32 || dt == FP64)
		case "parameters":
			var ok bool
			in.Parameters, ok = s.params()
			return ok
		case "shape":
			haveShape = true
			in.Shape = []int64{}
			return s.list(func() bool {
				d, ok := s.dim()
				if !ok {
					return false
				}
				if d > 0 && count > int64(bodyLen)/d {
					return false // more elements than the body can hold
				}
				count *= d
				in.Shape = append(in.Shape, d)
				return true
			})
		case "data":
			haveData = true
			// Capacity from the shape when it came first, bounded by
			// what the body can hold (two bytes per value at least).
			c := int64(bodyLen/2 + 1)
			if haveShape && count < c {
				c = count
			}
			in.Data = make([]float32, 0, c)
			return s.list(func() bool {
				t, ok := s.number()
				if !ok {
					return false
				}
				v, err := strconv.ParseFloat(string(t), 32)
				if err != nil {
					return false
				}
				in.Data = append(in.Data, float32(v))
				return true
			})
		}
		return false
	})
	if !ok || !haveShape || !haveType || len(in.Shape) == 0 {
		return in, bin, false
	}
	if size, isBin := in.Parameters[BinaryDataSize]; isBin {
		if !binary || haveData {
			return in, bin, false
		}
		var err error
		if in.Data, bin, err = takeBinary(bin, size, dt, count); err != nil {
			return in, bin, false
		}
		return in, bin, true
	}
	if !haveData || int64(len(in.Data)) != count {
		return in, bin, false
	}
	return in, bin, true
}
