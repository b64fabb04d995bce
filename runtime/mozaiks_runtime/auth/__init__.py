"""Identity from verified JWTs: key sources, verification, dev minting."""
