import TernABI
import TernToolstack

/// A checked guest created in Tern (with the TERN_CREATE_KEEP_ON_* flags
/// its on_* keys need), started, and committed so that it outlives this
/// process: `tern create`, and `tern logd` restarting a guest. A failure
/// leaves no domain behind.
enum GuestStart {
    static func start(_ guest: GuestConfig, image: [UInt8], ramdisk: [UInt8]? = nil, device: ControlDevice,
                      beforeCommit: () -> Void = {}) throws(GuestLoad.Problem) -> ControlDevice.Created {
        let created: ControlDevice.Created
        do throws(ControlDevice.Failure) {
            created = try device.create(guest, image: image, ramdisk: ramdisk, flags: TERN_CREATE_FROM_POOL | guest.keepFlags)
        } catch {
            throw GuestLoad.Problem(error.creating(guest))
        }
        do throws(GuestLoad.Problem) {
            try BlockBackends.start(guest, domid: created.domid)
            try NetworkBackends.start(guest, domid: created.domid)
        } catch {
            try? device.control(created.domid, TERN_DOMCTL_DESTROY)
            throw error
        }
        do throws(ControlDevice.Failure) {
            try device.control(created.domid, TERN_DOMCTL_UNPAUSE)
            beforeCommit()
            try device.commit(created.domid)
        } catch {
            try? device.control(created.domid, TERN_DOMCTL_DESTROY)
            throw GuestLoad.Problem("\(guest.name): \(error.description)")
        }
        return created
    }
}
