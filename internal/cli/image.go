package cli

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
)

// imageState is what the registry says of an image: problem is "" when
// its manifest is there, else why a preview of it is not deployed.
type imageState struct {
	problem string
}

// checkImage asks the image's registry (or registryURL, a mirror or a
// test's registry, for every image) for its manifest with an OCI
// distribution HEAD, with the Docker configuration's credentials
// (go-containerregistry: the token handshake and credential helpers
// included). Missing is a refusal; a registry that cannot be reached or
// refuses to say leaves the image pending.
func checkImage(image, registryURL string) imageState {
	opts := []name.Option{}
	ref := image
	if registryURL != "" {
		u, err := url.Parse(registryURL)
		if err != nil || u.Host == "" {
			return imageState{problem: fmt.Sprintf("pending image %s: --registry-url %q is not a URL", image, registryURL)}
		}
		r, err := name.ParseReference(image)
		if err != nil {
			return imageState{problem: fmt.Sprintf("image %s is not a valid reference: %v", image, err)}
		}
		ref = u.Host + "/" + r.Context().RepositoryStr()
		if strings.Contains(image, "@") {
			ref += "@" + r.Identifier()
		} else {
			ref += ":" + r.Identifier()
		}
		if u.Scheme == "http" {
			opts = append(opts, name.Insecure)
		}
	}
	r, err := name.ParseReference(ref, opts...)
	if err != nil {
		return imageState{problem: fmt.Sprintf("image %s is not a valid reference: %v", image, err)}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	_, err = remote.Head(r, remote.WithContext(ctx), remote.WithAuthFromKeychain(authn.DefaultKeychain))
	if err == nil {
		return imageState{}
	}
	var te *transport.Error
	if errors.As(err, &te) {
		switch te.StatusCode {
		case http.StatusNotFound:
			return imageState{problem: fmt.Sprintf("image %s does not exist (yet): push it, then run preview up again", image)}
		case http.StatusUnauthorized, http.StatusForbidden:
			return imageState{problem: fmt.Sprintf("pending image %s: %s refused to say whether it exists (HTTP %d): log CI in to the registry", image, r.Context().RegistryStr(), te.StatusCode)}
		}
	}
	return imageState{problem: fmt.Sprintf("pending image %s: %s cannot be reached (%v): nothing deployed until it can say the image exists", image, r.Context().RegistryStr(), err)}
}
