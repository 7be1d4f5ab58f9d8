-- Wireshark dissector for the TCP OPSEC option (draft-paddon-tcp-opsec-01).
--
-- Decodes the option's list of security protocol ids and labels it by the segment that carries
-- it: a proposal (SYN), a selection (SYN-ACK) or an echo (the ACK completing the handshake; see
-- the project's reading notes, decision 2).
--
-- Framings (docs/architecture.md, reading notes decision 1):
--   experimental (default): kind 253 or 254 with the RFC 6994 experiment id 0x05EC:
--       253 | len | 0x05 0xEC | ids...
--   literal: the draft's own layout on a configurable kind (preference "opsec.literal_kind"):
--       kind | len | ids...
--
-- Registration: Wireshark (3.x and later; tested with 4.0) dispatches TCP options through the
-- "tcp.option" dissector table keyed by kind. Kinds 253/254 are shared by every RFC 6994
-- experiment, so this script keeps Wireshark's own experimental-option dissector and hands it
-- every kind-253/254 option whose ExID is not OPSEC's (TCP Fast Open's 0xF989, TCP-ENO's 0x454E...).
--
-- Use:  wireshark -X lua_script:docs/wireshark/opsec.lua capture.pcap
--       tshark -X lua_script:docs/wireshark/opsec.lua -r capture.pcap -Y opsec \
--              -T fields -e frame.number -e opsec.role -e opsec.protocols
-- or copy it into the personal Lua plugins folder (Help > About Wireshark > Folders).

local EXID = 0x05EC
local KIND_EXP1, KIND_EXP2 = 253, 254

local opsec = Proto("opsec", "TCP OPSEC option")

local protocol_names = { [0] = "TLS" }

local pf = {
    kind      = ProtoField.uint8("opsec.kind", "Kind", base.DEC),
    length    = ProtoField.uint8("opsec.length", "Length", base.DEC),
    exid      = ProtoField.uint16("opsec.exid", "Experiment Identifier", base.HEX),
    framing   = ProtoField.string("opsec.framing", "Framing"),
    role      = ProtoField.string("opsec.role", "Role"),
    count     = ProtoField.uint8("opsec.count", "Number of protocols", base.DEC),
    protocols = ProtoField.string("opsec.protocols", "Protocols"),
    protocol  = ProtoField.uint8("opsec.protocol", "Protocol", base.DEC, protocol_names),
}
opsec.fields = { pf.kind, pf.length, pf.exid, pf.framing, pf.role, pf.count, pf.protocols, pf.protocol }

local ex = {
    empty = ProtoExpert.new("opsec.empty", "OPSEC option with no protocol id (draft section 3.1: at least one)",
        expert.group.MALFORMED, expert.severity.WARN),
    multi = ProtoExpert.new("opsec.multiple_selected",
        "OPSEC selection or echo names more than one protocol", expert.group.PROTOCOL, expert.severity.WARN),
    stray = ProtoExpert.new("opsec.stray",
        "OPSEC option on a segment that is neither SYN nor ACK", expert.group.PROTOCOL, expert.severity.NOTE),
}
opsec.experts = { ex.empty, ex.multi, ex.stray }

opsec.prefs.literal_kind = Pref.uint("Literal framing kind", 0,
    "Option kind that carries the draft's literal framing (kind | len | ids); 0 disables it")

local f_syn = Field.new("tcp.flags.syn")
local f_ack = Field.new("tcp.flags.ack")

local function flag(extractor)
    local fi = extractor()
    if fi == nil then return false end
    local v = fi.value
    return v == true or v == 1
end

-- The role follows from the segment: SYN alone proposes, SYN-ACK selects, a later ACK echoes.
local function role_of_segment()
    local syn, ack = flag(f_syn), flag(f_ack)
    if syn and not ack then return "proposal" end
    if syn and ack then return "selection" end
    if ack then return "echo" end
    return "unexpected"
end

local tcp_options = DissectorTable.get("tcp.option")
-- Wireshark's own dissectors for the shared experimental kinds, to hand foreign ExIDs back to.
local original = {
    [KIND_EXP1] = tcp_options:get_dissector(KIND_EXP1),
    [KIND_EXP2] = tcp_options:get_dissector(KIND_EXP2),
}
local literal_kind = 0

local function dissect_opsec(tvb, pinfo, tree, framing, ids_at)
    local len = tvb:len()
    local role = role_of_segment()
    local n = len - ids_at
    local ids = {}
    for i = 0, n - 1 do
        ids[#ids + 1] = tostring(tvb(ids_at + i, 1):uint())
    end
    local list = table.concat(ids, ",")

    local item = tree:add(opsec, tvb(), "TCP Option - OPSEC " .. role .. " [" .. list .. "]")
    item:add(pf.kind, tvb(0, 1))
    item:add(pf.length, tvb(1, 1))
    if framing == "experimental" then
        item:add(pf.exid, tvb(2, 2))
    end
    item:add(pf.framing, framing):set_generated()
    item:add(pf.role, role):set_generated()
    item:add(pf.count, n):set_generated()
    item:add(pf.protocols, list):set_generated()
    for i = 0, n - 1 do
        item:add(pf.protocol, tvb(ids_at + i, 1))
    end
    if n == 0 then
        item:add_proto_expert_info(ex.empty)
    elseif n > 1 and role ~= "proposal" then
        item:add_proto_expert_info(ex.multi)
    end
    if role == "unexpected" then
        item:add_proto_expert_info(ex.stray)
    end
    pinfo.cols.info:append(" OPSEC=" .. role .. "[" .. list .. "]")
    return len
end

function opsec.dissector(tvb, pinfo, tree)
    local len = tvb:len()
    if len < 2 then return 0 end
    local kind = tvb(0, 1):uint()
    if literal_kind ~= 0 and kind == literal_kind then
        return dissect_opsec(tvb, pinfo, tree, "literal", 2)
    end
    if (kind == KIND_EXP1 or kind == KIND_EXP2) and len >= 4 and tvb(2, 2):uint() == EXID then
        return dissect_opsec(tvb, pinfo, tree, "experimental", 4)
    end
    local other = original[kind]
    if other ~= nil then
        return other:call(tvb, pinfo, tree)
    end
    return 0
end

tcp_options:add(KIND_EXP1, opsec)
tcp_options:add(KIND_EXP2, opsec)

-- Re-registers the literal kind when the preference changes, giving the old kind back to
-- whichever dissector owned it before.
local function apply_literal_kind()
    local wanted = opsec.prefs.literal_kind
    if wanted == literal_kind then return end
    if literal_kind ~= 0 and literal_kind ~= KIND_EXP1 and literal_kind ~= KIND_EXP2 then
        if original[literal_kind] ~= nil then
            tcp_options:add(literal_kind, original[literal_kind])
        else
            tcp_options:remove(literal_kind, opsec)
        end
    end
    literal_kind = wanted
    if wanted ~= 0 and wanted ~= KIND_EXP1 and wanted ~= KIND_EXP2 then
        if original[wanted] == nil then
            original[wanted] = tcp_options:get_dissector(wanted)
        end
        tcp_options:add(wanted, opsec)
    end
end

function opsec.prefs_changed()
    apply_literal_kind()
end

apply_literal_kind()
