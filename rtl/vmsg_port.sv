// One register port of the peripheral: the AXI4-Lite front end
// (vmsg_axil_regif), the port's PeakRDL register block and its interrupt line.
// vmsg_periph instantiates it twice, once per side of the AMP system:
// DEV_PORT 0 holds vmsg_drv_regs (the driver's map), DEV_PORT 1 vmsg_dev_regs
// (the device's map). The hardware interface types name the same map:
// hwif_in_t / hwif_out_t are the block's vmsg_<map>_regs__in_t / __out_t.
//
// Timing contract (what the port adds to its two blocks, nothing else):
//   - AXI4-Lite: as vmsg_axil_regif (one transaction at a time, every beat
//     held until taken); the request to the register block is registered.
//   - hwif_in_i / hwif_out_o: the register block's hardware interface as
//     PeakRDL-regblock generates it (external blocks ack in the cycle their
//     result is valid; ext_err_i comes with that ack).
//   - irq_o: the register block's INTR_STATE summary: any bit set in both
//     INTR_STATE and INTR_ENABLE (an AND-OR of the block's flops, nothing else).

`default_nettype none

module vmsg_port
  import vmsg_pkg::REG_AW, vmsg_pkg::axil_req_t, vmsg_pkg::axil_rsp_t;
  import vmsg_drv_regs_pkg::*;
  import vmsg_dev_regs_pkg::*;
#(
  parameter bit  DEV_PORT   = 1'b0,  // 0: the driver's map (vmsg_drv_regs), 1: the device's (vmsg_dev_regs)
  parameter type hwif_in_t  = vmsg_drv_regs__in_t,   // the map's hwif_in type
  parameter type hwif_out_t = vmsg_drv_regs__out_t,  // the map's hwif_out type
  // derived: byte address width of the port (both maps fit 16 bits)
  localparam int unsigned ADDR_W = REG_AW
) (
  input  wire logic              clk_i,
  input  wire logic              rst_ni,

  // AXI4-Lite slave
  input  wire axil_req_t         s_axil_req_i,
  output      axil_rsp_t         s_axil_rsp_o,

  // the register block's hardware interface
  input  wire hwif_in_t          hwif_in_i,
  output      hwif_out_t         hwif_out_o,
  // error of the external block that acks (valid with its ack)
  input  wire logic              ext_err_i,

  // the port's interrupt (INTR_STATE & INTR_ENABLE, any bit)
  output      logic              irq_o
);

  // ---------------------------------------------------------------------------
  // Parameter checks (elaboration time)
  // ---------------------------------------------------------------------------
  // The generated block must match the 32-bit AXI4-Lite port and fit its address.
  if (DEV_PORT == 1'b0 && (VMSG_DRV_REGS_DATA_WIDTH != 32 || VMSG_DRV_REGS_MIN_ADDR_WIDTH > ADDR_W
                          || VMSG_DRV_REGS_SIZE > (1 << ADDR_W))) begin : g_bad_drv_map
    $fatal(1, "vmsg_port: vmsg_drv_regs is not a 32-bit map within %0d address bits", ADDR_W);
  end
  if (DEV_PORT == 1'b1 && (VMSG_DEV_REGS_DATA_WIDTH != 32 || VMSG_DEV_REGS_MIN_ADDR_WIDTH > ADDR_W
                          || VMSG_DEV_REGS_SIZE > (1 << ADDR_W))) begin : g_bad_dev_map
    $fatal(1, "vmsg_port: vmsg_dev_regs is not a 32-bit map within %0d address bits", ADDR_W);
  end
  // (hwif_in_t / hwif_out_t of the other map do not connect to the block: an
  // elaboration error at the block's ports.)

  // ---------------------------------------------------------------------------
  // AXI4-Lite front end
  // ---------------------------------------------------------------------------
  logic              req, req_is_wr;
  logic [ADDR_W-1:0] addr;
  logic [31:0]       wr_data, wr_biten;
  logic              stall_wr, stall_rd;
  logic              rd_ack, rd_err, wr_ack, wr_err;
  logic [31:0]       rd_data;

  vmsg_axil_regif u_regif (
    .clk_i                (clk_i),
    .rst_ni               (rst_ni),
    .s_axil_req_i         (s_axil_req_i),
    .s_axil_rsp_o         (s_axil_rsp_o),
    .m_cpuif_req          (req),
    .m_cpuif_req_is_wr    (req_is_wr),
    .m_cpuif_addr         (addr),
    .m_cpuif_wr_data      (wr_data),
    .m_cpuif_wr_biten     (wr_biten),
    .m_cpuif_req_stall_wr (stall_wr),
    .m_cpuif_req_stall_rd (stall_rd),
    .m_cpuif_rd_ack       (rd_ack),
    .m_cpuif_rd_err       (rd_err),
    .m_cpuif_rd_data      (rd_data),
    .m_cpuif_wr_ack       (wr_ack),
    .m_cpuif_wr_err       (wr_err),
    .ext_err_i            (ext_err_i)
  );

  // ---------------------------------------------------------------------------
  // Register block (the same instance name in both maps: g_regs.u_regs)
  // ---------------------------------------------------------------------------
  if (DEV_PORT) begin : g_regs
    vmsg_dev_regs u_regs (
      .clk                  (clk_i),
      .arst_n               (rst_ni),
      .s_cpuif_req          (req),
      .s_cpuif_req_is_wr    (req_is_wr),
      .s_cpuif_addr         (addr),
      .s_cpuif_wr_data      (wr_data),
      .s_cpuif_wr_biten     (wr_biten),
      .s_cpuif_req_stall_wr (stall_wr),
      .s_cpuif_req_stall_rd (stall_rd),
      .s_cpuif_rd_ack       (rd_ack),
      .s_cpuif_rd_err       (rd_err),
      .s_cpuif_rd_data      (rd_data),
      .s_cpuif_wr_ack       (wr_ack),
      .s_cpuif_wr_err       (wr_err),
      .hwif_in              (hwif_in_i),
      .hwif_out             (hwif_out_o)
    );
  end else begin : g_regs
    vmsg_drv_regs u_regs (
      .clk                  (clk_i),
      .arst_n               (rst_ni),
      .s_cpuif_req          (req),
      .s_cpuif_req_is_wr    (req_is_wr),
      .s_cpuif_addr         (addr),
      .s_cpuif_wr_data      (wr_data),
      .s_cpuif_wr_biten     (wr_biten),
      .s_cpuif_req_stall_wr (stall_wr),
      .s_cpuif_req_stall_rd (stall_rd),
      .s_cpuif_rd_ack       (rd_ack),
      .s_cpuif_rd_err       (rd_err),
      .s_cpuif_rd_data      (rd_data),
      .s_cpuif_wr_ack       (wr_ack),
      .s_cpuif_wr_err       (wr_err),
      .hwif_in              (hwif_in_i),
      .hwif_out             (hwif_out_o)
    );
  end

  assign irq_o = hwif_out_o.INTR_STATE.intr;

endmodule

`default_nettype wire
