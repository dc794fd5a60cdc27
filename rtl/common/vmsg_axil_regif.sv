// AXI4-Lite slave (32-bit data) to the PeakRDL-regblock passthrough CPU
// interface. One transaction at a time: the AW/W/AR beats are captured in
// holding registers (AW and W in any order or cycle), one request is passed to
// the register block, and its ack becomes the B or R beat (held until the
// master takes it). Reads and writes that wait together are served in turn.
// The request to the register block comes straight from registers (the
// arbitration result is registered first), because the register block's
// address decode and read mux follow it in the same cycle.
//
// ext_err_i is the error bit of the hand-written external blocks, valid in the
// cycle of their ack, which may come before the register block's own ack (the
// register block retimes its read path): it is kept from the issue of a request
// to its ack, and ORed with the register block's rd_err / wr_err it makes the
// response SLVERR.

`default_nettype none

`include "vmsg_assert.svh"

module vmsg_axil_regif
  import vmsg_pkg::AXI_RESP_OKAY, vmsg_pkg::AXI_RESP_SLVERR, vmsg_pkg::REG_AW;
  import vmsg_pkg::axil_req_t, vmsg_pkg::axil_rsp_t;
#(
  // derived: byte address width of the port and the register block
  localparam int unsigned ADDR_W = REG_AW
) (
  input  wire logic              clk_i,
  input  wire logic              rst_ni,

  // AXI4-Lite slave
  input  wire axil_req_t         s_axil_req_i,
  output      axil_rsp_t         s_axil_rsp_o,

  // PeakRDL passthrough CPU interface (this module is its master)
  output      logic              m_cpuif_req,
  output      logic              m_cpuif_req_is_wr,
  output      logic [ADDR_W-1:0] m_cpuif_addr,
  output      logic [31:0]       m_cpuif_wr_data,
  output      logic [31:0]       m_cpuif_wr_biten,
  input  wire logic              m_cpuif_req_stall_wr,
  input  wire logic              m_cpuif_req_stall_rd,
  input  wire logic              m_cpuif_rd_ack,
  input  wire logic              m_cpuif_rd_err,
  input  wire logic [31:0]       m_cpuif_rd_data,
  input  wire logic              m_cpuif_wr_ack,
  input  wire logic              m_cpuif_wr_err,

  // error of an external block, valid with its ack
  input  wire logic              ext_err_i
);

  typedef enum logic [1:0] {
    ST_IDLE,   // waiting for a complete request
    ST_ISSUE,  // request to the register block (one cycle)
    ST_WAIT,   // request issued, waiting for its ack
    ST_RESP    // B or R beat valid, waiting for the master
  } state_e;

  state_e state_q, state_d;

  // Holding registers of the address and data beats.
  logic              aw_have_q, w_have_q, ar_have_q;
  logic [ADDR_W-1:2] awaddr_q, araddr_q;   // word addresses: the register block decodes words
  logic [31:0]       wdata_q;
  logic [3:0]        wstrb_q;

  logic        is_wr_q;      // kind of the transaction in flight
  logic [ADDR_W-1:2] addr_q; // its word address
  logic        last_wr_q;    // the last issued transaction was a write (fairness)
  logic        bvalid_q, rvalid_q;
  logic [1:0]  bresp_q, rresp_q;
  logic [31:0] rdata_q;
  logic        ext_err_q;    // an external block answered the request in flight with an error

  // AXI channel handshakes.
  logic aw_hs, w_hs, ar_hs, b_hs, r_hs;
  assign s_axil_rsp_o.awready = !aw_have_q;
  assign s_axil_rsp_o.wready  = !w_have_q;
  assign s_axil_rsp_o.arready = !ar_have_q;
  assign aw_hs = s_axil_req_i.awvalid && s_axil_rsp_o.awready;
  assign w_hs  = s_axil_req_i.wvalid  && s_axil_rsp_o.wready;
  assign ar_hs = s_axil_req_i.arvalid && s_axil_rsp_o.arready;
  assign b_hs  = bvalid_q && s_axil_req_i.bready;
  assign r_hs  = rvalid_q && s_axil_req_i.rready;

  // Arbitration: a complete write (AW and W) or a read; both waiting -> the
  // kind not served last time.
  logic wr_rdy, rd_rdy, pick_wr, pick_rd;
  assign wr_rdy  = (state_q == ST_IDLE) && aw_have_q && w_have_q && !m_cpuif_req_stall_wr;
  assign rd_rdy  = (state_q == ST_IDLE) && ar_have_q && !m_cpuif_req_stall_rd;
  assign pick_wr = wr_rdy && (!rd_rdy || !last_wr_q);
  assign pick_rd = rd_rdy && !pick_wr;

  assign m_cpuif_req       = (state_q == ST_ISSUE);
  assign m_cpuif_req_is_wr = is_wr_q;
  assign m_cpuif_addr      = {addr_q, 2'b00};
  assign m_cpuif_wr_data   = wdata_q;
  always_comb begin
    for (int unsigned b = 0; b < 4; b++) m_cpuif_wr_biten[b*8 +: 8] = {8{wstrb_q[b]}};
  end

  // Ack of the request in flight (in the issue cycle or later).
  logic in_flight, ack, ack_err;
  assign in_flight = (state_q == ST_ISSUE) || (state_q == ST_WAIT);
  assign ack       = in_flight && (is_wr_q ? m_cpuif_wr_ack : m_cpuif_rd_ack);
  assign ack_err   = (is_wr_q ? m_cpuif_wr_err : m_cpuif_rd_err) || ext_err_i || ext_err_q;

  always_comb begin
    state_d = state_q;
    unique case (state_q)
      ST_IDLE: begin
        if (pick_wr || pick_rd) state_d = ST_ISSUE;
      end
      ST_ISSUE: begin
        state_d = ack ? ST_RESP : ST_WAIT;
      end
      ST_WAIT: begin
        if (ack) state_d = ST_RESP;
      end
      ST_RESP: begin
        if (b_hs || r_hs) state_d = ST_IDLE;
      end
      default: state_d = ST_IDLE;
    endcase
  end

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      state_q   <= ST_IDLE;
      aw_have_q <= 1'b0;
      w_have_q  <= 1'b0;
      ar_have_q <= 1'b0;
      awaddr_q  <= '0;
      araddr_q  <= '0;
      wdata_q   <= '0;
      wstrb_q   <= '0;
      is_wr_q   <= 1'b0;
      addr_q    <= '0;
      last_wr_q <= 1'b0;
      bvalid_q  <= 1'b0;
      bresp_q   <= AXI_RESP_OKAY;
      rvalid_q  <= 1'b0;
      rresp_q   <= AXI_RESP_OKAY;
      rdata_q   <= '0;
      ext_err_q <= 1'b0;
    end else begin
      state_q <= state_d;

      if (state_q == ST_IDLE)  ext_err_q <= 1'b0;
      else if (in_flight)      ext_err_q <= ext_err_q || ext_err_i;

      if (aw_hs) begin
        aw_have_q <= 1'b1;
        awaddr_q  <= s_axil_req_i.awaddr[ADDR_W-1:2];
      end
      if (w_hs) begin
        w_have_q <= 1'b1;
        wdata_q  <= s_axil_req_i.wdata;
        wstrb_q  <= s_axil_req_i.wstrb;
      end
      if (ar_hs) begin
        ar_have_q <= 1'b1;
        araddr_q  <= s_axil_req_i.araddr[ADDR_W-1:2];
      end

      if (pick_wr || pick_rd) begin
        is_wr_q   <= pick_wr;
        addr_q    <= pick_wr ? awaddr_q : araddr_q;
        last_wr_q <= pick_wr;
      end

      if (ack) begin
        if (is_wr_q) begin
          bvalid_q <= 1'b1;
          bresp_q  <= ack_err ? AXI_RESP_SLVERR : AXI_RESP_OKAY;
        end else begin
          rvalid_q <= 1'b1;
          rresp_q  <= ack_err ? AXI_RESP_SLVERR : AXI_RESP_OKAY;
          rdata_q  <= m_cpuif_rd_data;
        end
      end

      // The beats of a transaction are released with its response, so at
      // most one transaction is ever past its address phase.
      if (b_hs) begin
        bvalid_q  <= 1'b0;
        aw_have_q <= 1'b0;
        w_have_q  <= 1'b0;
      end
      if (r_hs) begin
        rvalid_q  <= 1'b0;
        ar_have_q <= 1'b0;
      end
    end
  end

  assign s_axil_rsp_o.bvalid = bvalid_q;
  assign s_axil_rsp_o.bresp  = bresp_q;
  assign s_axil_rsp_o.rvalid = rvalid_q;
  assign s_axil_rsp_o.rresp  = rresp_q;
  assign s_axil_rsp_o.rdata  = rdata_q;

  // The protection bits carry no meaning for this register file; the byte
  // lanes of an unaligned address are given by the strobes.
  logic unused_prot;
  assign unused_prot = ^{s_axil_req_i.awprot, s_axil_req_i.arprot,
                         s_axil_req_i.awaddr[1:0], s_axil_req_i.araddr[1:0]};

`ifdef VMSG_ASSERT_ON
  // checks start one clock after reset (see vmsg_assert.svh)
  `VMSG_SVA_EN(clk_i, rst_ni)

  // ---- responses of this slave: held until taken, payload stable ----
  `VMSG_ASSERT(a_bvalid_stable,
      $past(s_axil_rsp_o.bvalid && !s_axil_req_i.bready)
        -> s_axil_rsp_o.bvalid && $stable(s_axil_rsp_o.bresp),
    ("vmsg_axil_regif: B beat dropped or changed before bready"))
  `VMSG_ASSERT(a_rvalid_stable,
      $past(s_axil_rsp_o.rvalid && !s_axil_req_i.rready) -> s_axil_rsp_o.rvalid && $stable(s_axil_rsp_o.rresp)
        && $stable(s_axil_rsp_o.rdata),
    ("vmsg_axil_regif: R beat dropped or changed before rready"))
  // ---- requests of the master: held until accepted, payload stable ----
  `VMSG_ASSUME(a_awvalid_stable,
      $past(s_axil_req_i.awvalid && !s_axil_rsp_o.awready)
        -> s_axil_req_i.awvalid && $stable(s_axil_req_i.awaddr),
    ("vmsg_axil_regif: AXI master dropped or changed AW before awready"))
  `VMSG_ASSUME(a_wvalid_stable,
      $past(s_axil_req_i.wvalid && !s_axil_rsp_o.wready) -> s_axil_req_i.wvalid && $stable(s_axil_req_i.wdata)
        && $stable(s_axil_req_i.wstrb),
    ("vmsg_axil_regif: AXI master dropped or changed W before wready"))
  `VMSG_ASSUME(a_arvalid_stable,
      $past(s_axil_req_i.arvalid && !s_axil_rsp_o.arready)
        -> s_axil_req_i.arvalid && $stable(s_axil_req_i.araddr),
    ("vmsg_axil_regif: AXI master dropped or changed AR before arready"))
  // ---- one transaction at a time ----
  `VMSG_ASSERT(a_one_resp, !(bvalid_q && rvalid_q),
    ("vmsg_axil_regif: B and R valid together"))
  `VMSG_ASSERT(a_req_no_resp, m_cpuif_req -> !bvalid_q && !rvalid_q,
    ("vmsg_axil_regif: request issued while a response is pending"))
  `VMSG_ASSERT(a_req_one_cycle, $past(m_cpuif_req) -> !m_cpuif_req,
    ("vmsg_axil_regif: request held for more than one cycle"))
  `VMSG_ASSUME(a_req_not_stalled,
      m_cpuif_req -> !(is_wr_q ? m_cpuif_req_stall_wr : m_cpuif_req_stall_rd),
    ("vmsg_axil_regif: request issued into a stalled register block"))
  `VMSG_ASSERT(a_resp_state, (bvalid_q || rvalid_q) == (state_q == ST_RESP),
    ("vmsg_axil_regif: response valid out of the RESP state"))
  // ---- acks only for a pending request ----
  `VMSG_ASSUME(a_ack_pending, (m_cpuif_rd_ack || m_cpuif_wr_ack) -> in_flight,
    ("vmsg_axil_regif: ack without a pending request"))
  `VMSG_ASSUME(a_ack_kind, in_flight -> !(is_wr_q ? m_cpuif_rd_ack : m_cpuif_wr_ack),
    ("vmsg_axil_regif: ack of the wrong kind"))
  `VMSG_ASSUME(a_no_stall_in_flight,
      (state_q == ST_IDLE) -> !m_cpuif_req_stall_wr && !m_cpuif_req_stall_rd,
    ("vmsg_axil_regif: register block stalls with nothing in flight"))
`endif

endmodule

`default_nettype wire
