# trustml: build, test and reproduce. The fast OpenBLAS build is used where
# Debian's libopenblas-dev is installed; everything works without it.
#
#   make demo     run the main job on embedded defaults
#   make test     gofmt, go vet and the tests (both builds where OpenBLAS is present)
#   make build    build bin/trustml
#   make default-model   retrain the embedded default model (needs dataset-fashion-mnist)
#   make bench    every benchmark against its peer (PyTorch, scikit-learn), one table of ratios

OPENBLAS := $(shell test -e /usr/include/x86_64-linux-gnu/cblas.h -a -e /usr/include/lapacke.h && echo yes)
ifeq ($(OPENBLAS),yes)
TAGS := -tags openblas
endif
GO ?= go

.PHONY: demo test build default-model resnet-model bench fuzz

build:
	$(GO) build $(TAGS) -o bin/trustml ./cmd/trustml

demo: build
	./bin/trustml demo

test:
	@unformatted=$$(gofmt -l .); \
	if [ -n "$$unformatted" ]; then echo "gofmt needed:"; echo "$$unformatted"; exit 1; fi
	$(GO) vet ./...
	$(GO) test -timeout 30m ./...
ifeq ($(OPENBLAS),yes)
	$(GO) vet -tags openblas ./...
	$(GO) test -timeout 30m -tags openblas ./...
endif

# The models embedded in package zoo (need dataset-fashion-mnist). The CNN
# takes about 15 minutes on 2 cores, the ResNet-8 about 15 more.
default-model: build
	./bin/trustml train --data fashion-mnist --arch cnn-bn --epochs 15 --out zoo/fashion-cnn.ckpt
	./bin/trustml eval --model zoo/fashion-cnn.ckpt --data fashion-mnist
	./bin/trustml eval --model zoo/fashion-cnn.ckpt

resnet-model: build
	./bin/trustml train --data fashion-mnist --arch resnet8 --epochs 6 --lr 0.1 --out zoo/fashion-resnet8.ckpt
	./bin/trustml eval --model zoo/fashion-resnet8.ckpt --data fashion-mnist

bench:
	bash bench/all.sh

# Run each fuzz target for a short while.
fuzz:
	@for pkg in $$($(GO) list ./...); do \
	  for f in $$($(GO) test -list 'Fuzz.*' $$pkg 2>/dev/null | grep '^Fuzz'); do \
	    $(GO) test -run x -fuzz "^$$f$$" -fuzztime 20s $$pkg || exit 1; \
	  done; \
	done
