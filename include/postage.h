/*
 * postage.h - libpostage: Hashcash v1 stamps for email, minted and checked
 * byte for byte as hashcash 1.22 does, with a double-spend store.
 *
 * Include this one header; link with `pkg-config --libs libpostage`.  Every
 * function returns a postage_status code (postage/status.h); the library
 * never prints, never exits and keeps no mutable global state beyond the
 * choice of SHA-1 kernel made once on first use.
 */
#ifndef POSTAGE_H
#define POSTAGE_H

#include "postage/status.h"
#include "postage/clock.h"
#include "postage/stamp.h"
#include "postage/argon2id.h"
#include "postage/kernel.h"
#include "postage/mint.h"
#include "postage/store.h"
#include "postage/verify.h"

#endif
