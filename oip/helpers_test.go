package oip

import "encoding/json"

// setMetadataJSON is what Dial does with a metadata reply body.
func (c *Client) setMetadataJSON(body []byte) error {
	var md ModelMetadata
	if err := json.Unmarshal(body, &md); err != nil {
		return ErrRemote
	}
	return c.setMetadata(md)
}

// decodeLogitsJSON is what Logits does with a JSON reply body.
func (c *Client) decodeLogitsJSON(dst []float32, body []byte) error {
	resp, err := DecodeResponse(body, -1)
	if err != nil {
		return err
	}
	return c.decodeLogits(dst, resp)
}

// decodeFeaturesJSON is what Features does with a JSON reply body.
func (c *Client) decodeFeaturesJSON(dst []float32, n int, body []byte) error {
	resp, err := DecodeResponse(body, -1)
	if err != nil {
		return err
	}
	return c.decodeFeatures(dst, n, resp)
}
