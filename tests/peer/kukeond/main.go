// A kukeonv1 peer for kuke-tui's tests: Go's own net/rpc with the
// net/rpc/jsonrpc codec on a private unix socket, service "KukeonV1", with
// argument and reply structs whose exported field names (and the realm
// document's json tags) are those of Kukeon's pkg/api/kukeonv1/types.go and
// pkg/api/model/v1beta1/realm.go. Standard library only.
//
// It changes nothing on the host. It records every request it decodes, one
// JSON line per call ({"method", "args", "rawYAML"}) in -record (mode 0600),
// and answers each method as the -control file says (re-read per call):
//
//	{"DeleteRealm": {"mode": "error", "kind": "ResourceHasDependencies", "message": "..."},
//	 "Ping": {"mode": "hang"}, "CreateRealm": {"mode": "drop"}, "*": {...}}
//
// mode "error" answers with Err set, "hang" never answers, "drop" closes the
// connection without answering. GetRealm answers with the record
// <-run>/data/<name>/metadata.json when it exists. It prints no argument
// (a request may carry a registry password).
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"net"
	"net/rpc"
	"net/rpc/jsonrpc"
	"os"
	"os/signal"
	"path/filepath"
	"sync"
	"syscall"
	"time"
)

// ---- v1beta1 (the fields kuke-tui sends and reads) ----

type RealmDoc struct {
	APIVersion string        `json:"apiVersion" yaml:"apiVersion"`
	Kind       string        `json:"kind"       yaml:"kind"`
	Metadata   RealmMetadata `json:"metadata"   yaml:"metadata"`
	Spec       RealmSpec     `json:"spec"       yaml:"spec"`
	Status     RealmStatus   `json:"status"     yaml:"status"`
}

type RealmMetadata struct {
	Name   string            `json:"name"`
	Labels map[string]string `json:"labels"`
}

type RealmSpec struct {
	Namespace           string                `json:"namespace"`
	RegistryCredentials []RegistryCredentials `json:"registryCredentials,omitempty"`
}

type RegistryCredentials struct {
	Username      string `json:"username"`
	Password      string `json:"password"`
	ServerAddress string `json:"serverAddress,omitempty"`
}

// RealmState travels as its label; an integer (v0.4 records) is accepted.
type RealmState int

var stateNames = []string{"Pending", "Creating", "Ready", "Deleting", "Failed", "Unknown"}

func (s RealmState) MarshalJSON() ([]byte, error) {
	if int(s) < 0 || int(s) >= len(stateNames) {
		return json.Marshal("Unknown")
	}
	return json.Marshal(stateNames[s])
}

func (s *RealmState) UnmarshalJSON(data []byte) error {
	var label string
	if err := json.Unmarshal(data, &label); err == nil {
		for i, n := range stateNames {
			if n == label {
				*s = RealmState(i)
				return nil
			}
		}
		return fmt.Errorf("realm state: unknown label %q", label)
	}
	var i int
	if err := json.Unmarshal(data, &i); err != nil || i < 0 || i >= len(stateNames) {
		return fmt.Errorf("realm state: expected a label or 0..5, got %s", data)
	}
	*s = RealmState(i)
	return nil
}

type RealmStatus struct {
	State                    RealmState `json:"state"`
	CgroupPath               string     `json:"cgroupPath,omitempty"`
	SubtreeControllers       []string   `json:"subtreeControllers,omitempty"`
	CreatedAt                time.Time  `json:"createdAt,omitempty"`
	UpdatedAt                time.Time  `json:"updatedAt,omitempty"`
	ReadyAt                  time.Time  `json:"readyAt,omitempty"`
	Reason                   string     `json:"reason,omitempty"`
	Message                  string     `json:"message,omitempty"`
	CgroupReady              bool       `json:"cgroupReady,omitempty"`
	ContainerdNamespaceReady bool       `json:"containerdNamespaceReady,omitempty"`
}

// ---- kukeonv1 ----

type APIError struct {
	Kind    string
	Message string
}

type PingArgs struct{}

type PingReply struct {
	OK      bool
	Version string
	Err     *APIError
}

type CreateRealmArgs struct{ Doc RealmDoc }

type CreateRealmResult struct {
	Realm                         RealmDoc
	MetadataExistsPre             bool
	MetadataExistsPost            bool
	CgroupExistsPre               bool
	CgroupExistsPost              bool
	CgroupCreated                 bool
	ContainerdNamespaceExistsPre  bool
	ContainerdNamespaceExistsPost bool
	ContainerdNamespaceCreated    bool
	Created                       bool
}

type CreateRealmReply struct {
	Result CreateRealmResult
	Err    *APIError
}

type DeleteRealmArgs struct {
	Doc     RealmDoc
	Force   bool
	Cascade bool
}

type DeleteRealmResult struct {
	Realm                      RealmDoc
	Deleted                    []string
	MetadataDeleted            bool
	CgroupDeleted              bool
	ContainerdNamespaceDeleted bool
}

type DeleteRealmReply struct {
	Result DeleteRealmResult
	Err    *APIError
}

type GetRealmArgs struct{ Doc RealmDoc }

type GetRealmResult struct {
	Realm                     RealmDoc
	MetadataExists            bool
	CgroupExists              bool
	ContainerdNamespaceExists bool
}

type GetRealmReply struct {
	Result GetRealmResult
	Err    *APIError
}

type ApplyDocumentsArgs struct{ RawYAML []byte }

type ApplyResourceResult struct {
	Index   int
	Kind    string
	Name    string
	Action  string
	Error   string
	Changes []string
	Details map[string]string
}

type ApplyDocumentsResult struct{ Resources []ApplyResourceResult }

type ApplyDocumentsReply struct {
	Result ApplyDocumentsResult
	Err    *APIError
}

// ---- the peer ----

type behaviour struct {
	Mode    string `json:"mode"`
	Kind    string `json:"kind"`
	Message string `json:"message"`
}

type peer struct {
	version string
	record  string
	control string
	run     string
	mu      sync.Mutex
}

// conn is one client connection: "drop" closes it mid-call.
type conn struct {
	*peer
	c net.Conn
}

// KukeonV1 is the registered service; one per connection.
type KukeonV1 struct{ conn }

func (p *peer) behaviour(method string) behaviour {
	data, err := os.ReadFile(p.control)
	if err != nil {
		return behaviour{}
	}
	var all map[string]behaviour
	if json.Unmarshal(data, &all) != nil {
		return behaviour{}
	}
	if b, ok := all[method]; ok {
		return b
	}
	return all["*"]
}

func (p *peer) log(method string, args interface{}, raw []byte) {
	p.mu.Lock()
	defer p.mu.Unlock()
	line := map[string]interface{}{"method": "KukeonV1." + method, "args": args}
	if raw != nil {
		line["rawYAML"] = string(raw)
	}
	data, _ := json.Marshal(line)
	f, err := os.OpenFile(p.record, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return
	}
	defer f.Close()
	_, _ = f.Write(append(data, '\n'))
}

// act records the call and applies the control file: true means answer
// normally; an APIError is returned for "error".
func (s *KukeonV1) act(method string, args interface{}, raw []byte) (*APIError, bool) {
	s.log(method, args, raw)
	b := s.behaviour(method)
	switch b.Mode {
	case "hang":
		time.Sleep(time.Hour)
	case "drop":
		_ = s.c.Close()
		time.Sleep(time.Second)
		return nil, false
	case "error":
		return &APIError{Kind: b.Kind, Message: b.Message}, false
	}
	return nil, true
}

func (s *KukeonV1) Ping(args *PingArgs, reply *PingReply) error {
	if e, ok := s.act("Ping", args, nil); !ok {
		reply.Err = e
		return nil
	}
	reply.OK = true
	reply.Version = s.version
	return nil
}

func (s *KukeonV1) CreateRealm(args *CreateRealmArgs, reply *CreateRealmReply) error {
	if e, ok := s.act("CreateRealm", args, nil); !ok {
		reply.Err = e
		return nil
	}
	doc := args.Doc
	if doc.Spec.Namespace == "" {
		doc.Spec.Namespace = doc.Metadata.Name + ".kukeon.io"
	}
	doc.Status.State = 2
	doc.Status.CgroupPath = "/kukeon/" + doc.Metadata.Name
	reply.Result = CreateRealmResult{
		Realm: doc, MetadataExistsPost: true, CgroupExistsPost: true, CgroupCreated: true,
		ContainerdNamespaceExistsPost: true, ContainerdNamespaceCreated: true, Created: true,
	}
	return nil
}

func (s *KukeonV1) DeleteRealm(args *DeleteRealmArgs, reply *DeleteRealmReply) error {
	if e, ok := s.act("DeleteRealm", args, nil); !ok {
		reply.Err = e
		return nil
	}
	deleted := []string{"realm/" + args.Doc.Metadata.Name}
	if args.Cascade {
		deleted = append([]string{"space/default"}, deleted...)
	}
	reply.Result = DeleteRealmResult{
		Realm: args.Doc, Deleted: deleted, MetadataDeleted: true, CgroupDeleted: true,
		ContainerdNamespaceDeleted: true,
	}
	return nil
}

func (s *KukeonV1) GetRealm(args *GetRealmArgs, reply *GetRealmReply) error {
	if e, ok := s.act("GetRealm", args, nil); !ok {
		reply.Err = e
		return nil
	}
	reply.Result.Realm = args.Doc
	path := filepath.Join(s.run, "data", args.Doc.Metadata.Name, "metadata.json")
	data, err := os.ReadFile(path)
	if err != nil {
		return nil
	}
	var doc RealmDoc
	if err := json.Unmarshal(data, &doc); err != nil {
		reply.Err = &APIError{Kind: "Unknown", Message: "cannot read " + path + ": " + err.Error()}
		return nil
	}
	reply.Result = GetRealmResult{Realm: doc, MetadataExists: true, CgroupExists: true, ContainerdNamespaceExists: true}
	return nil
}

func (s *KukeonV1) ApplyDocuments(args *ApplyDocumentsArgs, reply *ApplyDocumentsReply) error {
	if e, ok := s.act("ApplyDocuments", args, args.RawYAML); !ok {
		reply.Err = e
		return nil
	}
	reply.Result.Resources = []ApplyResourceResult{{Index: 0, Kind: "Realm", Action: "updated"}}
	return nil
}

func main() {
	socket := flag.String("socket", "", "unix socket to listen on")
	p := &peer{}
	flag.StringVar(&p.version, "version", "v0.6.1-peer", "version Ping reports")
	flag.StringVar(&p.record, "record", "", "file the requests are recorded in")
	flag.StringVar(&p.control, "control", "", "JSON file saying how each method answers")
	flag.StringVar(&p.run, "run", "", "run path GetRealm reads records from")
	flag.Parse()
	if *socket == "" || p.record == "" {
		fmt.Fprintln(os.Stderr, "usage: kukeond-peer -socket PATH -record FILE [-control FILE] [-run DIR] [-version V]")
		os.Exit(2)
	}
	_ = os.Remove(*socket)
	listener, err := net.Listen("unix", *socket)
	if err != nil {
		fmt.Fprintln(os.Stderr, "listen:", err)
		os.Exit(1)
	}
	go func() {
		sig := make(chan os.Signal, 1)
		signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT)
		<-sig
		_ = listener.Close()
		_ = os.Remove(*socket)
		os.Exit(0)
	}()
	for {
		c, err := listener.Accept()
		if err != nil {
			return
		}
		server := rpc.NewServer()
		if err := server.RegisterName("KukeonV1", &KukeonV1{conn{p, c}}); err != nil {
			fmt.Fprintln(os.Stderr, "register:", err)
			os.Exit(1)
		}
		go server.ServeCodec(jsonrpc.NewServerCodec(c))
	}
}
