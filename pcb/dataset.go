package pcb

import (
	"bufio"
	"errors"
	"fmt"
	"image"
	"image/draw"
	_ "image/jpeg" // DeepPCB's images are JPEG files
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// EnvDir is the environment variable naming the DeepPCB data root when no
// directory is given.
const EnvDir = "TRUSTML_DEEPPCB"

// DefaultDir is the DeepPCB data root used when neither a directory nor
// $TRUSTML_DEEPPCB is given: the project's shared data folder beside the
// repository checkout, relative to the working directory.
const DefaultDir = "../shared/data/deeppcb"

// ImageSize is the side of DeepPCB's square images, in pixels.
const ImageSize = 640

// ErrFormat is wrapped by every error about a malformed file: an annotation
// or detection line, a list line, a model file.
var ErrFormat = errors.New("pcb: malformed file")

// Class is a defect type, numbered as in DeepPCB (1 open … 6 pin-hole).
type Class int

// The six DeepPCB defect types.
const (
	Open Class = iota + 1
	Short
	Mousebite
	Spur
	Copper
	PinHole
)

// NumClasses is the number of defect types.
const NumClasses = 6

var classNames = [...]string{"", "open", "short", "mousebite", "spur", "copper", "pin-hole"}

// Classes returns the six defect types in DeepPCB's order.
func Classes() []Class { return []Class{Open, Short, Mousebite, Spur, Copper, PinHole} }

// String returns the name the authors' detection format uses ("open",
// "pin-hole").
func (c Class) String() string {
	if c.Valid() {
		return classNames[c]
	}
	return fmt.Sprintf("class(%d)", int(c))
}

// Valid reports whether c is one of the six defect types.
func (c Class) Valid() bool { return c >= Open && c <= PinHole }

// ParseClass reads a class from its name ("open", "pin-hole") or number
// ("1" … "6").
func ParseClass(s string) (Class, error) {
	if n, err := strconv.Atoi(s); err == nil {
		if c := Class(n); c.Valid() {
			return c, nil
		}
		return 0, fmt.Errorf("defect type %d: want 1 (open) … 6 (pin-hole)", n)
	}
	for i, n := range classNames {
		if i > 0 && strings.EqualFold(n, s) {
			return Class(i), nil
		}
	}
	return 0, fmt.Errorf("defect type %q: want one of open, short, mousebite, spur, copper, pin-hole or 1…6", s)
}

// Box is an axis-aligned defect box in pixels, (X1, Y1) the top-left and
// (X2, Y2) the bottom-right corner, with its defect type.
type Box struct {
	X1, Y1, X2, Y2 int
	Class          Class
}

// Area returns the box's area (X2−X1)·(Y2−Y1), as the authors' evaluation
// measures it.
func (b Box) Area() int { return max(0, b.X2-b.X1) * max(0, b.Y2-b.Y1) }

// IoU returns the intersection over union of the two boxes' rectangles
// (classes are ignored); 0 when both are empty.
func IoU(a, b Box) float64 {
	iw := min(a.X2, b.X2) - max(a.X1, b.X1)
	ih := min(a.Y2, b.Y2) - max(a.Y1, b.Y1)
	if iw <= 0 || ih <= 0 {
		return 0
	}
	inter := iw * ih
	u := a.Area() + b.Area() - inter
	if u <= 0 {
		return 0
	}
	return float64(inter) / float64(u)
}

// ParseAnnotations reads a DeepPCB annotation file: one defect per line,
// "x1 y1 x2 y2 type" (spaces, or commas as in the authors' README), type a
// number 1…6 or a name. Blank lines are skipped. name is used in errors
// ("file:line: …"); w and h, when positive, bound the boxes: a box outside
// [0,w]×[0,h], or with x2 ≤ x1 or y2 ≤ y1, is an error.
func ParseAnnotations(r io.Reader, name string, w, h int) ([]Box, error) {
	var boxes []Box
	sc := bufio.NewScanner(r)
	for line := 1; sc.Scan(); line++ {
		s := strings.TrimSpace(sc.Text())
		if s == "" {
			continue
		}
		f := strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ' ' || r == '\t' })
		if len(f) != 5 {
			return nil, fmt.Errorf("%w: %s:%d: %d fields in %q, want \"x1 y1 x2 y2 type\"", ErrFormat, name, line, len(f), s)
		}
		var v [4]int
		for i := range v {
			n, err := strconv.Atoi(f[i])
			if err != nil {
				return nil, fmt.Errorf("%w: %s:%d: field %d (%s) is %q, not an integer", ErrFormat, name, line, i+1, [...]string{"x1", "y1", "x2", "y2"}[i], f[i])
			}
			v[i] = n
		}
		c, err := ParseClass(f[4])
		if err != nil {
			return nil, fmt.Errorf("%w: %s:%d: %v", ErrFormat, name, line, err)
		}
		b := Box{v[0], v[1], v[2], v[3], c}
		if err := checkBox(b, w, h); err != nil {
			return nil, fmt.Errorf("%w: %s:%d: %v", ErrFormat, name, line, err)
		}
		boxes = append(boxes, b)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("pcb: reading %s: %w", name, err)
	}
	return boxes, nil
}

func checkBox(b Box, w, h int) error {
	if b.X2 <= b.X1 || b.Y2 <= b.Y1 {
		return fmt.Errorf("empty box (%d,%d)-(%d,%d): want x1 < x2 and y1 < y2", b.X1, b.Y1, b.X2, b.Y2)
	}
	if w > 0 && h > 0 && (b.X1 < 0 || b.Y1 < 0 || b.X2 > w || b.Y2 > h) {
		return fmt.Errorf("box (%d,%d)-(%d,%d) outside the %d×%d image", b.X1, b.Y1, b.X2, b.Y2, w, h)
	}
	return nil
}

// Pair is one DeepPCB sample: a tested image, its defect-free template and
// the annotated defects of the tested image.
type Pair struct {
	// Name is the image stem ("20085000"), the name of its annotation and
	// detection files.
	Name           string
	Test, Template string // image paths
	Annotation     string // annotation file path
	Boxes          []Box
}

// ResolveDir returns the DeepPCB root to read: dir when not empty, else
// $TRUSTML_DEEPPCB when set, else [DefaultDir].
func ResolveDir(dir string) string {
	if dir != "" {
		return dir
	}
	if d := os.Getenv(EnvDir); d != "" {
		return d
	}
	return DefaultDir
}

// Splits are the DeepPCB list files: "trainval" (1,000 pairs) and "test"
// (500 pairs).
var Splits = []string{"trainval", "test"}

// ReadSplit reads the pairs of split ("trainval" or "test"; "train" means
// trainval) under root (a directory holding PCBData/, or PCBData itself;
// empty means [ResolveDir]) and their annotations. A missing image, a
// malformed list or annotation line, or a box outside the image is an error
// naming the file and line.
func ReadSplit(root, split string) ([]Pair, error) {
	root = ResolveDir(root)
	if split == "train" {
		split = "trainval"
	}
	if split != "trainval" && split != "test" {
		return nil, fmt.Errorf("pcb: split %q: want trainval or test", split)
	}
	base := filepath.Join(root, "PCBData")
	if _, err := os.Stat(filepath.Join(base, split+".txt")); err != nil {
		if _, err2 := os.Stat(filepath.Join(root, split+".txt")); err2 == nil {
			base = root
		} else {
			return nil, fmt.Errorf("pcb: DeepPCB list %s.txt not found under %s (give --data-dir or set $%s to the folder holding PCBData/): %w", split, root, EnvDir, err)
		}
	}
	list := filepath.Join(base, split+".txt")
	f, err := os.Open(list)
	if err != nil {
		return nil, fmt.Errorf("pcb: %w", err)
	}
	defer f.Close()
	return readList(f, list, base)
}

func readList(r io.Reader, list, base string) ([]Pair, error) {
	var pairs []Pair
	sc := bufio.NewScanner(r)
	for line := 1; sc.Scan(); line++ {
		s := strings.TrimSpace(sc.Text())
		if s == "" {
			continue
		}
		f := strings.Fields(s)
		if len(f) != 2 || !strings.HasSuffix(f[0], ".jpg") || !strings.HasSuffix(f[1], ".txt") {
			return nil, fmt.Errorf("%w: %s:%d: %q, want \"IMAGE.jpg ANNOTATION.txt\"", ErrFormat, list, line, s)
		}
		stem := strings.TrimSuffix(f[0], ".jpg")
		p := Pair{Name: filepath.Base(stem), Test: filepath.Join(base, stem+"_test.jpg"),
			Template: filepath.Join(base, stem+"_temp.jpg"), Annotation: filepath.Join(base, f[1])}
		for _, im := range []struct{ what, path string }{{"tested image", p.Test}, {"template", p.Template}} {
			if _, err := os.Stat(im.path); err != nil {
				return nil, fmt.Errorf("pcb: %s:%d: %s of %s missing: %w", list, line, im.what, p.Name, err)
			}
		}
		a, err := os.Open(p.Annotation)
		if err != nil {
			return nil, fmt.Errorf("pcb: %s:%d: annotation of %s: %w", list, line, p.Name, err)
		}
		p.Boxes, err = ParseAnnotations(a, p.Annotation, ImageSize, ImageSize)
		a.Close()
		if err != nil {
			return nil, err
		}
		pairs = append(pairs, p)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("pcb: reading %s: %w", list, err)
	}
	if len(pairs) == 0 {
		return nil, fmt.Errorf("%w: %s lists no pairs", ErrFormat, list)
	}
	return pairs, nil
}

// LoadGray decodes an image file (JPEG or PNG) as 8-bit grayscale.
func LoadGray(path string) (*image.Gray, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("pcb: %w", err)
	}
	defer f.Close()
	im, _, err := image.Decode(bufio.NewReader(f))
	if err != nil {
		return nil, fmt.Errorf("pcb: decoding %s: %w", path, err)
	}
	if g, ok := im.(*image.Gray); ok && g.Rect.Min == (image.Point{}) {
		return g, nil
	}
	b := im.Bounds()
	g := image.NewGray(image.Rect(0, 0, b.Dx(), b.Dy()))
	draw.Draw(g, g.Rect, im, b.Min, draw.Src)
	return g, nil
}

// Load decodes the pair's template and tested image; both must have the
// same size, which must contain every annotated box.
func (p Pair) Load() (tmpl, test *image.Gray, err error) {
	if tmpl, err = LoadGray(p.Template); err != nil {
		return nil, nil, err
	}
	if test, err = LoadGray(p.Test); err != nil {
		return nil, nil, err
	}
	if tmpl.Rect != test.Rect {
		return nil, nil, fmt.Errorf("pcb: %s: template is %dx%d, tested image %dx%d", p.Name, tmpl.Rect.Dx(), tmpl.Rect.Dy(), test.Rect.Dx(), test.Rect.Dy())
	}
	for _, b := range p.Boxes {
		if err := checkBox(b, test.Rect.Dx(), test.Rect.Dy()); err != nil {
			return nil, nil, fmt.Errorf("pcb: %s: %v", p.Annotation, err)
		}
	}
	return tmpl, test, nil
}
