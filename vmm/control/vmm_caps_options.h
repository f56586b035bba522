/* vmm_caps_options.h: lego-vmm's capability options (rows of vmm/options.h): what it shows
 * the memory and storage servers; handled in vmm_caps.c. No code. */
#ifndef LEGO_VMM_CAPS_OPTIONS_H
#define LEGO_VMM_CAPS_OPTIONS_H

#define VMM_CAPS_OPTIONS_SECRET 4 /* a value lego-pmon hands over in a private file */

#define VMM_CAPS_OPTIONS(X)                                                                       \
	X(vmm_caps_capability, "capability", 0, "FILE", VMM_CAPS_OPTIONS_SECRET,                  \
	  "the capabilities lego-controld signed for this vNode and their holder key (lego-pmon " \
	  "writes FILE; renewals come through the control socket)")                               \
	X(vmm_caps_key, "capability-key", 0, "FILE", 0,                                           \
	  "without lego-controld: sign this vNode's own capabilities with the Ed25519 key in "    \
	  "FILE (capability-key.pem; the servers trust its public half); signed anew at half "    \
	  "their life")                                                                           \
	X(vmm_caps_lifetime, "capability-lifetime", 0, "S", 0,                                    \
	  "with --capability-key: seconds each capability lasts (60..604800; default %d)",        \
	  CAP_HOLDER_DEFAULT_LIFETIME)

#endif
