/*
 * mint_argon2id.h - the Argon2id search, inside libpostage (postage_mint()
 * hands memory-hard stamps over to it).
 */
#ifndef POSTAGE_MINT_ARGON2ID_H
#define POSTAGE_MINT_ARGON2ID_H

#include <stddef.h>

#include "postage/mint.h"

/* Search a counter for @head ("1:BITS:DATE:RESOURCE:a2id=...:", already
 * laid out by postage_mint()); same contract as postage_mint(). */
int mint_argon2id(const char *head, size_t head_len, const struct postage_mint_options *o,
                  char *stamp, size_t size, struct postage_mint_result *result);

#endif
