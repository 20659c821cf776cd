package client

import (
	"context"
	"fmt"
	"strings"

	eeov1 "github.com/eeo-gateway/eeo-gateway/gen/eeo/v1"
	"github.com/spf13/cobra"
	"google.golang.org/protobuf/proto"
)

func newAccountsCmd(o *options) *cobra.Command {
	return &cobra.Command{
		Use:   "accounts",
		Short: "List the gateway's accounts and their token cache state",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return o.withConn(cmd, func(ctx context.Context, c clients) error {
				resp, err := c.tokens.ListAccounts(ctx, &eeov1.ListAccountsRequest{})
				if err != nil {
					return o.callError("listing accounts", err)
				}
				if o.json() {
					return o.printJSON(resp)
				}
				t := o.newTable("ACCOUNT", "TOKEN", "FINGERPRINT", "EXPIRES", "IDLE EXPIRES", "LAST ERROR")
				for _, a := range resp.GetAccounts() {
					t.row(a.GetName(), strings.TrimPrefix(a.GetTokenState().String(), "TOKEN_STATE_"), orDash(a.GetTokenFingerprint()),
						timeText(a.GetExpireTime()), timeText(a.GetIdleExpireTime()), orDash(a.GetLastErrorReason()))
				}
				return t.flush()
			})
		},
	}
}

func newTokenCmd(o *options) *cobra.Command {
	cmd := &cobra.Command{Use: "token", Short: "Get, refresh or invalidate an account's EEO access token"}
	var reveal bool
	get := &cobra.Command{
		Use:   "get ACCOUNT",
		Short: "A valid token for the account (masked unless --reveal)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return o.withConn(cmd, func(ctx context.Context, c clients) error {
				resp, err := c.tokens.GetToken(ctx, &eeov1.GetTokenRequest{Account: args[0]})
				if err != nil {
					return o.callError("getting a token", err)
				}
				return o.printToken(resp.GetToken(), reveal)
			})
		},
	}
	refresh := &cobra.Command{
		Use:   "refresh ACCOUNT",
		Short: "Fetch a new token for the account (masked unless --reveal)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return o.withConn(cmd, func(ctx context.Context, c clients) error {
				resp, err := c.tokens.RefreshToken(ctx, &eeov1.RefreshTokenRequest{Account: args[0]})
				if err != nil {
					return o.callError("refreshing the token", err)
				}
				return o.printToken(resp.GetToken(), reveal)
			})
		},
	}
	for _, c := range []*cobra.Command{get, refresh} {
		c.Flags().BoolVar(&reveal, "reveal", false, "print the access token itself (it is a live EEO credential)")
	}
	var fingerprint string
	invalidate := &cobra.Command{
		Use:   "invalidate ACCOUNT",
		Short: "Drop the account's cached token (only if it is still --fingerprint's, when given)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return o.withConn(cmd, func(ctx context.Context, c clients) error {
				resp, err := c.tokens.InvalidateToken(ctx, &eeov1.InvalidateTokenRequest{Account: args[0], Fingerprint: fingerprint})
				if err != nil {
					return o.callError("invalidating the token", err)
				}
				if o.json() {
					return o.printJSON(resp)
				}
				if resp.GetInvalidated() {
					_, err = fmt.Fprintf(o.env.Stdout, "invalidated the cached token of %s\n", args[0])
				} else {
					_, err = fmt.Fprintf(o.env.Stdout, "nothing invalidated: %s had no cached token, or a different one\n", args[0])
				}
				return err
			})
		},
	}
	invalidate.Flags().StringVar(&fingerprint, "fingerprint", "", "invalidate only if the cached token still has this `fingerprint`")
	cmd.AddCommand(get, refresh, invalidate)
	return cmd
}

// printToken shows a token, its access token masked unless reveal.
func (o *options) printToken(tok *eeov1.Token, reveal bool) error {
	if !reveal {
		tok = proto.CloneOf(tok)
		tok.AccessToken = maskToken(tok.GetAccessToken())
	}
	if o.json() {
		return o.printJSON(tok)
	}
	return keyValues(o.env.Stdout,
		"account", tok.GetAccount(),
		"access token", tok.GetAccessToken(),
		"type", tok.GetTokenType(),
		"fingerprint", tok.GetFingerprint(),
		"issued", timeText(tok.GetIssueTime()),
		"expires", timeText(tok.GetExpireTime()),
		"idle expires", timeText(tok.GetIdleExpireTime()),
	)
}

// maskToken hides a token entirely: even a prefix of a bearer credential
// is more than a terminal's scrollback should hold. The fingerprint, shown
// beside it, identifies the token safely.
func maskToken(s string) string {
	if s == "" {
		return ""
	}
	return "[masked; --reveal shows it]"
}
