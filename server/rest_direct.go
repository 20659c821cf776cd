package server

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"

	eeov1 "github.com/eeo-gateway/eeo-gateway/gen/eeo/v1"
	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"google.golang.org/genproto/googleapis/api/annotations"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
)

// restDirectMethods are the unary methods whose REST route the facade
// serves with a restDirectRoute rather than grpc-gateway's generated
// handler: GetToken, the call every EEO request of a REST client starts
// with. On it, the generated handler's glue — AnnotateContext's metadata,
// a context of its own, the client stub and the in-process connection's
// metadata copy — cost more gateway CPU per call than the whole gRPC
// server's handling of the same call.
func restDirectMethods() []string {
	return []string{eeov1.TokenService_GetToken_FullMethodName}
}

// restDirectRoute serves the REST route of one unary method straight into
// the in-process call (inprocConn.call), doing exactly what grpc-gateway's
// generated handler does for a GET route whose request is all path
// variables: the request from the path, the metadata AnnotateContext
// would send (directMetadata), the call, and grpc-gateway's own response
// and error writing (ForwardResponseMessage, HTTPError). A request whose
// metadata directMetadata declines goes to generated, a mux holding the
// generated route, so nothing about it changes.
type restDirectRoute struct {
	mux       *runtime.ServeMux // the facade's: marshalers, errors, forward options
	generated http.Handler      // grpc-gateway's generated route, for declined requests
	conn      *inprocConn
	method    string // full gRPC method name
	handler   inprocMethod
	request   protoreflect.MessageType
	// stringFields are the request's string fields by name, which serve sets
	// itself: PopulateFieldFromPath would parse the field path and look
	// the field up on every request. Other kinds go through it.
	stringFields map[string]protoreflect.FieldDescriptor
	match        runtime.HeaderMatcherFunc
	// annotate is Config.RESTMetadata, may be nil. It gets the request's
	// context, without the runtime.RPCMethod AnnotateContext would add:
	// grpc-gateway offers no way to set it short of AnnotateContext.
	annotate func(context.Context, *http.Request) metadata.MD
}

// directPattern is method's REST route as a direct route can serve it:
// the GET template of its google.api.http rule (directRulePattern). Any
// other method keeps its generated route (false).
func directPattern(method protoreflect.MethodDescriptor) (string, bool) {
	rule, ok := proto.GetExtension(method.Options(), annotations.E_Http).(*annotations.HttpRule)
	if !ok {
		return "", false
	}
	return directRulePattern(rule, method.Input())
}

// directRulePattern is rule's GET template when a direct route writes
// what the generated route would for it: the rule has no body, no
// response_body (the generated route would write only that field) and no
// other bindings, and its path variables are exactly input's fields.
func directRulePattern(rule *annotations.HttpRule, input protoreflect.MessageDescriptor) (string, bool) {
	if rule.GetGet() == "" || rule.GetBody() != "" || rule.GetResponseBody() != "" || len(rule.GetAdditionalBindings()) > 0 {
		return "", false
	}
	pattern := rule.GetGet()
	vars := pathVariables(pattern)
	fields := input.Fields()
	if len(vars) != fields.Len() {
		return "", false
	}
	for i := range fields.Len() {
		if !vars[string(fields.Get(i).Name())] {
			return "", false
		}
	}
	return pattern, true
}

// pathVariables are the names of the variables of an HTTP rule's path
// template: {name} or {name=segments}.
func pathVariables(pattern string) map[string]bool {
	vars := map[string]bool{}
	for {
		_, rest, ok := strings.Cut(pattern, "{")
		if !ok {
			return vars
		}
		v, after, _ := strings.Cut(rest, "}")
		name, _, _ := strings.Cut(v, "=")
		vars[name] = true
		pattern = after
	}
}

// methodDescriptor finds a method by its full gRPC name (/pkg.Service/Method).
func methodDescriptor(fullMethod string) (protoreflect.MethodDescriptor, error) {
	name := protoreflect.FullName(strings.ReplaceAll(strings.TrimPrefix(fullMethod, "/"), "/", "."))
	d, err := protoregistry.GlobalFiles.FindDescriptorByName(name)
	if err != nil {
		return nil, fmt.Errorf("method %s: %w", fullMethod, err)
	}
	md, ok := d.(protoreflect.MethodDescriptor)
	if !ok {
		return nil, fmt.Errorf("%s is not a method", fullMethod)
	}
	return md, nil
}

// registerDirectRoutes puts a restDirectRoute for each of restDirectMethods
// that conn runs in-process and whose route qualifies (directPattern) on
// mux, ahead of the generated routes, which generated must hold too.
func registerDirectRoutes(mux *runtime.ServeMux, generated http.Handler, conn *inprocConn, match runtime.HeaderMatcherFunc, annotate func(context.Context, *http.Request) metadata.MD) error {
	for _, name := range restDirectMethods() {
		handler, ok := conn.methods[name]
		if !ok {
			continue
		}
		method, err := methodDescriptor(name)
		if err != nil {
			return err
		}
		pattern, ok := directPattern(method)
		if !ok {
			continue
		}
		request, err := protoregistry.GlobalTypes.FindMessageByName(method.Input().FullName())
		if err != nil {
			return fmt.Errorf("method %s: %w", name, err)
		}
		route := &restDirectRoute{mux: mux, generated: generated, conn: conn, method: name,
			handler: handler, request: request, stringFields: map[string]protoreflect.FieldDescriptor{},
			match: match, annotate: annotate}
		fields := method.Input().Fields()
		for i := range fields.Len() {
			if fd := fields.Get(i); fd.Kind() == protoreflect.StringKind {
				route.stringFields[string(fd.Name())] = fd
			}
		}
		if err := mux.HandlePath(http.MethodGet, pattern, route.serve); err != nil {
			return fmt.Errorf("method %s: %w", name, err)
		}
	}
	return nil
}

// serve is the route's runtime.HandlerFunc.
func (d *restDirectRoute) serve(w http.ResponseWriter, r *http.Request, params map[string]string) {
	ctx := r.Context()
	md, ok := directMetadata(ctx, r, d.match, d.annotate)
	if !ok {
		d.generated.ServeHTTP(w, r)
		return
	}
	_, outbound := runtime.MarshalerForRequest(d.mux, r)
	req := d.request.New()
	for field, value := range params {
		if fd, ok := d.stringFields[field]; ok {
			req.Set(fd, protoreflect.ValueOfString(value))
			continue
		}
		if err := runtime.PopulateFieldFromPath(req.Interface(), field, value); err != nil {
			runtime.HTTPError(ctx, d.mux, outbound, w, r, status.Errorf(codes.InvalidArgument, "type mismatch, parameter: %s, error: %v", field, err))
			return
		}
	}
	if r.Body != nil {
		_, _ = io.Copy(io.Discard, r.Body) // as the generated handler does
	}
	resp, stream, err := d.conn.call(ctx, d.method, d.handler, req.Interface(), md)
	ctx = runtime.NewServerMetadataContext(ctx, runtime.ServerMetadata{HeaderMD: stream.header, TrailerMD: stream.trailer})
	if err != nil {
		runtime.HTTPError(ctx, d.mux, outbound, w, r, err)
		return
	}
	runtime.ForwardResponseMessage(ctx, d.mux, outbound, w, r, resp, d.mux.GetForwardResponseOptions()...)
}
