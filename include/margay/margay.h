/* margay/margay.h — margay's extensions to PDPIX that Demikernel does not have.
 * Kept apart from include/demi so the PDPIX headers stay exactly Demikernel's. */
#ifndef MARGAY_MARGAY_H_IS_INCLUDED
#define MARGAY_MARGAY_H_IS_INCLUDED

#ifdef __cplusplus
extern "C" {
#endif

/** Tears down the runtime demi_init started: closes every open queue (their pending
 * operations fail with ECANCELED), frees every array the application still holds and
 * stops the libOS. Afterwards demi_init may be called again. Returns 0, or EPERM when
 * margay is not initialised. Pointers into freed arrays must not be used afterwards. */
extern int margay_shutdown(void);

#ifdef __cplusplus
}
#endif

#endif /* MARGAY_MARGAY_H_IS_INCLUDED */
