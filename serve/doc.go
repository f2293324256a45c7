// Package serve puts an output defense (AAA by default) in front of a model
// served to the public over the Open Inference Protocol (the "v2" REST
// protocol of KServe, Triton and Seldon MLServer). A score-based query
// attacker only sees what the API returns, so the defense is applied to
// every reply, and the API can require keys with query budgets and rate
// limits.
//
// A [Server] serves either a trustml model in the process (any
// [model.Classifier]; the embedded default in "trustml serve") or, in proxy
// mode, an existing v2 server reached through [oip.Dial] (whose client
// retries transient failures and bounds each attempt's time): each request
// goes to the upstream, the defense is applied to what comes back, and the
// reply goes to the client, so a model trustml did not train gets the
// defense without changes (as a KServe transformer, for instance).
//
// # Protocol
//
// Endpoints are those of [Server.Handler]. The model has one FP32 input
// "input" of shape [-1 dims...] with values in [0, 1] (see
// [Options.InputRange]) and the outputs of its defense: "logits" and
// "probabilities" (softmax of the defended logits) for defenses that return
// logits (AAA, outRND, none), "probabilities" or "scores" for the others.
// Bad requests — malformed JSON, another datatype, a wrong shape,
// out-of-range values, a body over the size limit, an unknown model or
// output — get 400, 404 or 413 with a v2 error body {"error": "..."}; a
// failed upstream gets 502, one that does not answer in time 504.
//
// Requests and replies may carry their tensors as binary data (the
// protocol's binary tensor data extension, [oip.HeaderContentLength]); a
// reply's outputs are binary when the request asks for it, as Triton does.
// [NewGRPCServer] (Config.GRPCAddr, "trustml serve --grpc") serves the same
// model over KServe's v2 gRPC predict service ([Server.GRPCService]), with
// raw tensor contents, the same keys ("authorization" metadata) and
// metrics; errors map to gRPC codes (InvalidArgument, NotFound,
// Unauthenticated, ResourceExhausted, Unavailable, DeadlineExceeded). An
// upstream may be a gRPC model (grpc://host:port/NAME).
//
// # Features
//
// With [Options.FeaturesOutput] (off by default), the model's
// penultimate-layer features are published as one more output, [-1 D], and
// returned to requests that name it in their outputs, so that
// feature-space OoD detectors can run on the served model ([oip.ClientOptions]
// FeaturesOutput). The features are returned undefended: they bypass the
// output defense, and an attacker with them can rebuild the undefended
// logits from the last layer. In proxy mode the upstream's feature output is
// forwarded (one more upstream request per request that wants it).
//
// # Dynamic batching
//
// Requests are queued and the batch workers (one by default; each owns a
// copy of the model and of the defense, so models that are not safe for
// concurrent use are served safely) run whatever is queued, up to
// [BatchOptions.MaxBatch] images, as one forward pass, waiting at most
// [BatchOptions.MaxDelay] for more requests while the batch is not full, as
// Triton's dynamic batcher does. When more requests are queued than one
// block of the defense's rows ([BatchOptions.BatchMultiple]; AAA's SIMD
// kernels optimise 16 rows at once with AVX-512), a batch is rounded down
// to a multiple of the block and the rest run first in the next batch, so
// that AAA pads no rows: as Triton's preferred batch sizes, this trades a
// batch's wait for some requests against a cheaper defense. Each request
// gets exactly its own rows. AAA
// and the other defenses process rows independently, so batching does not
// change what a defense does to a row; the model's own logits may differ in
// the last bits with the batch's size (matrix products are blocked by size).
//
// # API keys and budgets
//
// With a [Limiter], inference requires "Authorization: Bearer TOKEN" for a
// key of a key file ([ParseKeys]); every input image is one query. A key has
// a budget (queries per window, for example per day) and a rate limit (a
// token bucket: queries per second and a burst). An unknown key gets 401; a
// key over its budget or rate gets 429 with a Retry-After header. Counts are
// kept in a [Store], an append-only file that is written before the query is
// answered and compacted atomically, so they survive restarts and kill -9.
//
// # Operations
//
// Prometheus metrics (trustml_serve_*) at /metrics: requests by endpoint
// and status, latency histograms of whole inference requests, of the model
// and of the defense alone (per forward pass), batch sizes, images held
// over to round a batch to the defense's block, queries per key and
// requests in flight, plus the Go runtime's. Structured logs (log/slog):
// server errors at level error, every inference request at level debug.
// [Serve] adds read and write timeouts and a graceful shutdown that lets
// in-flight requests finish.
package serve
