// Package v2grpc is the generated Go code of the Open Inference Protocol's
// v2 gRPC predict service (KServe's grpc_predict_v2.proto, package
// "inference", service GRPCInferenceService), which KServe, Triton and
// their clients speak. Package oip converts its messages to and from
// oip's types ([github.com/trustml/trustml/oip.RequestFromProto]) and dials
// gRPC-served models; package serve serves them. Regenerate with gen.sh.
package v2grpc
